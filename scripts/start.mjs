#!/usr/bin/env node
// `npm start`: the whole platform on one machine with embedded defaults.
//   1. applies the D1 migrations to the local database,
//   2. runs `wrangler dev` (API, web app, local D1/R2/Queues/Durable Objects) on 127.0.0.1:8787,
//   3. runs the transcoder (node transcoder/main.ts) on 127.0.0.1:8788: the local runner, which
//      claims work from the Worker with a runner token made for this run (LOCAL_RUNNER_TOKEN for
//      the Worker; RUNNER_TOKEN and RUNNER_API_BASE for the runner),
// with each line of output prefixed by its process. Ctrl-C (or SIGTERM) stops both.
//
// Optional environment: API_PORT, TRANSCODER_PORT, STATE_DIR (where local data persists,
// default .wrangler/state), SWEEP_INTERVAL_SECONDS (how often the cron sweep runs locally,
// default 60), and VAR_<NAME>=value to set a Worker setting for this run (like .dev.vars).
// End-to-end tests use them to run an isolated copy.
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const apiPort = Number(process.env.API_PORT ?? 8787);
const transcoderPort = Number(process.env.TRANSCODER_PORT ?? 8788);
const stateDir = resolve(root, process.env.STATE_DIR ?? ".wrangler/state");
const sweepSeconds = Number(process.env.SWEEP_INTERVAL_SECONDS ?? 60);
const bin = (name) => join(root, "node_modules", ".bin", name);
// A new runner token each run: the Worker accepts it for the local runner only while this run lasts.
const localRunnerToken = `sbr_local_${randomBytes(32).toString("hex")}`;
const apiBase = `http://127.0.0.1:${apiPort}`;
const extraVars = Object.entries(process.env)
  .filter(([k]) => k.startsWith("VAR_"))
  .flatMap(([k, v]) => ["--var", `${k.slice(4)}:${v}`]);

const colors = { api: "\x1b[36m", transcoder: "\x1b[35m", start: "\x1b[33m" };
const useColor = process.stdout.isTTY;
const prefix = (name) => (useColor ? `${colors[name]}[${name}]\x1b[0m ` : `[${name}] `);
const say = (line) => process.stdout.write(`${prefix("start")}${line}\n`);

say(`applying migrations to the local database in ${stateDir}`);
const migrate = spawnSync(bin("wrangler"), ["d1", "migrations", "apply", "DB", "--local", "--persist-to", stateDir], {
  cwd: root,
  stdio: ["ignore", "inherit", "inherit"],
  env: { ...process.env, CI: "true" },
});
if (migrate.status !== 0) {
  say("migrations failed; not starting");
  process.exit(migrate.status ?? 1);
}

const children = [];
let stopping = false;

const restarts = [];

function run(name, command, args, env, restart = false) {
  const child = spawn(command, args, {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on("line", (line) => process.stdout.write(`${prefix(name)}${line}\n`));
  }
  child.on("exit", (code, signal) => {
    say(`${name} exited (${signal ?? code})`);
    if (!stopping && restart && restarts.length < 5) {
      // The runner is supervised like a container: a crash loses its unit (it goes back to pending
      // on the restarted runner's first claim), not the platform.
      restarts.push(Date.now());
      setTimeout(() => {
        restarts.splice(0, restarts.length, ...restarts.filter((t) => Date.now() - t < 60_000));
        if (!stopping) run(name, command, args, env, restart);
      }, 1000);
      return;
    }
    stop(code ?? 1);
  });
  const at = children.findIndex((c) => c.exitCode !== null || c.signalCode !== null);
  if (at >= 0) children.splice(at, 1);
  children.push(child);
  return child;
}

function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  for (const child of children) {
    if (child.exitCode === null) {
      try {
        process.kill(-child.pid, "SIGTERM");
      } catch {}
    }
  }
  const force = setTimeout(() => {
    for (const child of children) {
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {}
    }
    process.exit(code);
  }, 10_000);
  force.unref();
  Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once("exit", r)) : null))).then(() =>
    process.exit(code),
  );
}

process.on("SIGINT", () => stop(0));
process.on("SIGTERM", () => stop(0));

run(
  "transcoder",
  process.execPath,
  [join(root, "transcoder", "main.ts")],
  { HOST: "127.0.0.1", PORT: String(transcoderPort), RUNNER_TOKEN: localRunnerToken, RUNNER_API_BASE: apiBase },
  true,
);
run(
  "api",
  bin("wrangler"),
  [
    "dev",
    "--ip",
    "127.0.0.1",
    "--port",
    String(apiPort),
    "--persist-to",
    stateDir,
    "--show-interactive-dev-session=false",
    // wrangler dev fires no cron triggers by itself; /__scheduled runs the sweep (see below).
    "--test-scheduled",
    "--var",
    `LOCAL_RUNNER_TOKEN:${localRunnerToken}`,
    "--var",
    `PUBLIC_BASE_URL:${apiBase}`,
    ...extraVars,
  ],
  { CI: "true" },
);
say(`API and web app: http://127.0.0.1:${apiPort}/   docs: http://127.0.0.1:${apiPort}/swagger/`);
say(`transcoder:      http://127.0.0.1:${transcoderPort}/healthz`);

// The cron sweep (expired leases, expired uploads), as production's cron trigger would run it.
const sweep = setInterval(() => {
  fetch(`http://127.0.0.1:${apiPort}/__scheduled?cron=${encodeURIComponent("*/5 * * * *")}`).catch(() => {});
}, sweepSeconds * 1000);
sweep.unref();
