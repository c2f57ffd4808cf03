#!/usr/bin/env node
// `npm start`: the whole platform on one machine with embedded defaults.
//   1. checks that ffmpeg and ffprobe are there (scripts/check-prereqs.mjs) and that no other
//      StreamBuddy runs on the same data or ports,
//   2. applies the D1 migrations to the local database,
//   3. runs `wrangler dev` (API, web app, local D1/R2/Queues/Durable Objects) on 127.0.0.1:8787,
//      with IMPORT_ALLOW_PRIVATE_HOSTS=true (imports from servers on this machine work),
//   4. runs the local runner (node transcoder/main.ts, its health on 127.0.0.1:8788), which claims
//      work from the Worker with a runner token made for this run (LOCAL_RUNNER_TOKEN for the
//      Worker; RUNNER_TOKEN and RUNNER_API_BASE for the runner), and starts it again when it
//      crashes (the unit it held goes back to pending on its first claim),
// with each line of output prefixed by its process. Ctrl-C, SIGTERM and SIGHUP (the terminal
// closed) stop everything it started.
//
// Optional environment: API_PORT, TRANSCODER_PORT (the runner's health port), STATE_DIR (where
// local data persists, default .wrangler/state), SWEEP_INTERVAL_SECONDS (how often the cron sweep
// runs locally, default 60), RUNNER_CONCURRENCY (units the local runner works on at once, default
// 1), LOCAL_RUNNER=0 (no local runner: units wait for runners started by hand), and
// VAR_<NAME>=value to set a Worker setting for this run (like .dev.vars). End-to-end tests use
// them to run an isolated copy. With STORAGE_BACKEND=s3 (in .dev.vars or as VAR_STORAGE_BACKEND)
// and neither S3_ENDPOINT nor S3_ACCESS_KEY_ID set, it also runs a local S3-compatible server
// (s3rver, test/s3-server.ts) on S3_PORT (default 8789), keeping its objects in STATE_DIR/s3, and
// points the Worker at it: the S3 backend tried with no bucket of one's own.
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { describeMissing, missingPrerequisites } from "./check-prereqs.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const apiPort = Number(process.env.API_PORT ?? 8787);
const transcoderPort = Number(process.env.TRANSCODER_PORT ?? 8788);
const stateDir = resolve(root, process.env.STATE_DIR ?? ".wrangler/state");
const sweepSeconds = Number(process.env.SWEEP_INTERVAL_SECONDS ?? 60);
const withRunner = process.env.LOCAL_RUNNER !== "0";
// The runner's exit status when its token is refused or its settings are wrong (transcoder/settings.ts).
const RUNNER_EXIT_CONFIG = 78;
const apiUrl = `http://127.0.0.1:${apiPort}`;
// A new runner token each run: the Worker accepts it for the local runner only while this run lasts.
const localRunnerToken = `sbr_local_${randomBytes(32).toString("hex")}`;
const bin = (name) => join(root, "node_modules", ".bin", name);
const extraVars = Object.entries(process.env)
  .filter(([k]) => k.startsWith("VAR_"))
  .flatMap(([k, v]) => ["--var", `${k.slice(4)}:${v}`]);
const s3Port = Number(process.env.S3_PORT ?? 8789);

/** The Worker setting `name` for this run: VAR_<name>, else .dev.vars, else undefined. */
function workerSetting(name) {
  if (process.env[`VAR_${name}`] !== undefined) return process.env[`VAR_${name}`];
  let text = "";
  try {
    text = readFileSync(join(root, ".dev.vars"), "utf8");
  } catch {
    return undefined;
  }
  for (const line of text.split("\n")) {
    const m = /^\s*([A-Z0-9_]+)\s*=\s*(.*?)\s*$/.exec(line);
    if (m?.[1] === name) return m[2].replace(/^(["'])(.*)\1$/, "$2");
  }
  return undefined;
}
const localS3 =
  workerSetting("STORAGE_BACKEND") === "s3" && !workerSetting("S3_ENDPOINT") && !workerSetting("S3_ACCESS_KEY_ID");

const colors = { api: "\x1b[36m", runner: "\x1b[35m", start: "\x1b[33m" };
const useColor = process.stdout.isTTY;
const prefix = (name) => (useColor ? `${colors[name]}[${name}]\x1b[0m ` : `[${name}] `);
const say = (line) => process.stdout.write(`${prefix("start")}${line}\n`);
const refuse = (line) => {
  process.stderr.write(`${prefix("start")}${line}\n`);
  process.exit(1);
};
// Once the terminal is closed, writing to it fails (EIO); that must not stop the shutdown.
process.stdout.on("error", () => {});
process.stderr.on("error", () => {});

const missing = missingPrerequisites("start");
if (missing.length > 0) refuse(describeMissing(missing, "start"));

// One run per state directory: two wrangler dev processes on the same local D1 and R2 would
// corrupt each other. The file names the running one, so a second start can say which it is.
const pidFile = join(stateDir, "streambuddy.pid");
const isRunning = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === "EPERM";
  }
};
function readPidFile() {
  try {
    return JSON.parse(readFileSync(pidFile, "utf8"));
  } catch {
    return null;
  }
}
function claimStateDir() {
  mkdirSync(stateDir, { recursive: true });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(pidFile, `${JSON.stringify({ pid: process.pid, apiUrl, stateDir })}\n`, { flag: "wx" });
      return null;
    } catch (err) {
      if (err.code !== "EEXIST") throw err;
      const holder = readPidFile();
      if (holder && Number.isInteger(holder.pid) && isRunning(holder.pid)) return holder;
      rmSync(pidFile, { force: true }); // left behind by a run that was killed outright
    }
  }
  return readPidFile() ?? { pid: "unknown", apiUrl };
}
const running = claimStateDir();
if (running) {
  refuse(
    `StreamBuddy is already running (pid ${running.pid}) on ${running.apiUrl} with its data in ${stateDir}; ` +
      "stop it first (Ctrl-C in its terminal), or set API_PORT, TRANSCODER_PORT and STATE_DIR to run another copy",
  );
}
process.on("exit", () => {
  if (readPidFile()?.pid === process.pid) rmSync(pidFile, { force: true });
});

const portInUse = (port) =>
  new Promise((done) => {
    const probe = createServer();
    probe.once("error", (err) => done(err.code === "EADDRINUSE" || err.code === "EACCES"));
    probe.listen(port, "127.0.0.1", () => probe.close(() => done(false)));
  });
for (const [name, port] of [
  ["API_PORT", apiPort],
  ...(withRunner ? [["TRANSCODER_PORT", transcoderPort]] : []),
  ...(localS3 ? [["S3_PORT", s3Port]] : []),
]) {
  if (await portInUse(port)) {
    refuse(
      `port ${port} (${name}) is already in use, perhaps by another StreamBuddy (http://127.0.0.1:${port}/healthz); ` +
        `stop it first or set ${name} to another port`,
    );
  }
}

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
    if (!stopping && restart && code === RUNNER_EXIT_CONFIG) {
      // Its token was refused (revoked in the admin API) or a setting is wrong: starting it again
      // would not help. The API keeps serving; units wait for other runners.
      say(`${name} stopped for good (see its last line); the API keeps running, restart npm start for a new runner`);
      return;
    }
    if (!stopping && restart && restarts.length < 5) {
      // The runner is supervised like a container: a crash loses its unit (it goes back to pending
      // on the restarted runner's first claim), not the platform. What the crashed one started
      // (its ffmpeg) goes with it.
      signalGroup(child.pid, "SIGKILL");
      restarts.push(Date.now());
      setTimeout(() => {
        restarts.splice(0, restarts.length, ...restarts.filter((t) => Date.now() - t < 60_000));
        if (!stopping) run(name, command, args, env, restart);
      }, 1000);
      return;
    }
    stop(code ?? 1);
  });
  // Forget the children whose whole group is gone; stop() still reaches what an exited one left.
  for (let i = children.length - 1; i >= 0; i--) if (!groupAlive(children[i].pid)) children.splice(i, 1);
  children.push(child);
  return child;
}

// Each child leads its own process group (so Ctrl-C in the terminal reaches only this script,
// which stops them in order); signalling the group reaches what they started in turn: wrangler's
// workerd, the transcoder's ffmpeg.
const groupAlive = (pgid) => {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (err) {
    return err.code === "EPERM";
  }
};
const signalGroup = (pgid, signal) => {
  try {
    process.kill(-pgid, signal);
  } catch {}
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  const groups = children.map((c) => c.pid).filter((pid) => pid !== undefined && groupAlive(pid));
  for (const pgid of groups) signalGroup(pgid, "SIGTERM");
  const deadline = Date.now() + 10_000;
  while (groups.some(groupAlive) && Date.now() < deadline) await sleep(100);
  for (const pgid of groups.filter(groupAlive)) signalGroup(pgid, "SIGKILL");
  while (groups.some(groupAlive) && Date.now() < deadline + 5_000) await sleep(50);
  process.exit(code);
}

for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, () => stop(0));

const s3Vars = [];
if (localS3) {
  // In this process: it stops when npm start does.
  const { startS3TestServer, S3_TEST_ACCESS_KEY_ID, S3_TEST_SECRET_ACCESS_KEY } = await import("../test/s3-server.ts");
  const bucket = workerSetting("S3_BUCKET") || "streambuddy-media";
  const directory = join(stateDir, "s3");
  mkdirSync(directory, { recursive: true });
  const s3 = await startS3TestServer({ port: s3Port, directory, bucket });
  for (const [k, v] of Object.entries({
    S3_ENDPOINT: s3.endpoint,
    S3_BUCKET: bucket,
    S3_FORCE_PATH_STYLE: "true",
    S3_ACCESS_KEY_ID: S3_TEST_ACCESS_KEY_ID,
    S3_SECRET_ACCESS_KEY: S3_TEST_SECRET_ACCESS_KEY,
  })) {
    s3Vars.push("--var", `${k}:${v}`);
  }
  say(`local S3-compatible server: ${s3.endpoint}/${bucket}/ (objects in ${directory})`);
}

if (withRunner) {
  run(
    "runner",
    process.execPath,
    [join(root, "transcoder", "main.ts")],
    { HOST: "127.0.0.1", PORT: String(transcoderPort), RUNNER_TOKEN: localRunnerToken, RUNNER_API_BASE: apiUrl },
    true,
  );
}
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
    `PUBLIC_BASE_URL:http://127.0.0.1:${apiPort}`,
    // Imports from servers on this machine or the local network work locally (never deployed).
    "--var",
    "IMPORT_ALLOW_PRIVATE_HOSTS:true",
    ...extraVars,
    ...s3Vars,
  ],
  { CI: "true" },
);
say(`API and web app: http://127.0.0.1:${apiPort}/   docs: http://127.0.0.1:${apiPort}/swagger/`);
say(
  withRunner
    ? `local runner:    http://127.0.0.1:${transcoderPort}/healthz`
    : "no local runner (LOCAL_RUNNER=0): videos wait until a runner claims their work",
);

// The cron sweep (expired leases, expired uploads), as production's cron trigger would run it.
const sweep = setInterval(() => {
  fetch(`http://127.0.0.1:${apiPort}/__scheduled?cron=${encodeURIComponent("*/5 * * * *")}`).catch(() => {});
}, sweepSeconds * 1000);
sweep.unref();
