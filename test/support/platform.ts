/**
 * The running platform for end-to-end tests and benchmarks, from Node: the whole of it as
 * `npm start` starts it (scripts/start.mjs), runners started by hand beside it, or one
 * `wrangler dev` for a config with its own state; an account on either, and what the processes
 * logged.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stripVTControlCharacters } from "node:util";

export const root = join(import.meta.dirname, "..", "..");
export const APP_CONFIG = join(root, "wrangler.toml");
const wranglerBin = join(root, "node_modules", ".bin", "wrangler");

/** A started process whose output is kept, for error messages and assertions. */
function startLogged(command: string, args: string[], env: Record<string, string | undefined>, detached: boolean) {
  const child = spawn(command, args, { cwd: root, env, stdio: ["ignore", "pipe", "pipe"], detached });
  const logs: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    // Whole lines only: a chunk may end in the middle of one.
    let rest = "";
    stream?.setEncoding("utf8");
    stream?.on("data", (chunk: string) => {
      const lines = (rest + chunk).split("\n");
      rest = lines.pop() ?? "";
      logs.push(...lines.filter(Boolean));
    });
    stream?.on("end", () => {
      if (rest) logs.push(rest);
    });
  }
  return { child, logs };
}

const exited = (child: ChildProcess) =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise<void>((r) => child.once("exit", () => r()));

const portFree = (port: number) =>
  new Promise<boolean>((done) => {
    const probe = createServer();
    probe.once("error", () => done(false));
    probe.listen(port, "127.0.0.1", () => probe.close(() => done(true)));
  });

/** Waits (until `deadline`) for nothing to listen on `ports` any more. */
async function portsReleased(ports: number[], deadline: number) {
  for (const port of ports) {
    while (!(await portFree(port)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  }
}

/** Waits until `url` answers at all (`ok`: with a 2xx), failing early when `child` exits. */
async function waitUntilAnswering(url: string, child: ChildProcess, logs: string[], deadline: number, ok = true) {
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${url}: the process exited early:\n${logs.slice(-40).join("\n")}`);
    try {
      const res = await fetch(url);
      await res.arrayBuffer();
      if (res.ok || !ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} did not answer in time:\n${logs.slice(-40).join("\n")}`);
}

/** A one-off wrangler command against the local state under `stateDir` (e.g. `r2 object delete`). */
export function localWrangler(args: string[], stateDir: string) {
  const result = spawnSync(wranglerBin, [...args, "--local", "--persist-to", stateDir], {
    cwd: root,
    env: { ...process.env, CI: "true" },
    encoding: "utf8",
  });
  if (result.status !== 0) throw new Error(`wrangler ${args.join(" ")} failed:\n${result.stdout}${result.stderr}`);
}

/** `wrangler d1 migrations apply` for the local database under `stateDir`. */
export const applyMigrations = (stateDir: string, config = APP_CONFIG) =>
  localWrangler(["d1", "migrations", "apply", "DB", "-c", config], stateDir);

export interface Platform {
  apiUrl: string;
  /** The local runner's health endpoint's origin (`<runnerUrl>/healthz`). */
  runnerUrl: string;
  /** Where local D1/R2/Queues/Durable Objects persist (wrangler's --persist-to). */
  stateDir: string;
  /** The `npm start` process (scripts/start.mjs). */
  process: ChildProcess;
  /** Its output, one line each, prefixed by the process (`[api] `, `[runner] `, `[start] `). */
  logs: string[];
  stop(): Promise<void>;
}

/**
 * Starts what `npm start` starts on its own ports and with its own state directory, and waits
 * until the API and the local runner answer.
 */
export async function startPlatform(
  options: {
    apiPort?: number;
    transcoderPort?: number;
    env?: Record<string, string>;
    /** Reuse this state (e.g. to restart on the same data); kept on stop. */
    stateDir?: string;
    /** `false`: no local runner (LOCAL_RUNNER=0); units wait for runners started by hand. */
    localRunner?: boolean;
  } = {},
): Promise<Platform> {
  const apiPort = options.apiPort ?? 18787;
  const transcoderPort = options.transcoderPort ?? 18788;
  const stateDir = options.stateDir ?? mkdtempSync(join(tmpdir(), "streambuddy-e2e-"));
  const { child, logs } = startLogged(
    process.execPath,
    [join(root, "scripts", "start.mjs")],
    {
      ...process.env,
      API_PORT: String(apiPort),
      TRANSCODER_PORT: String(transcoderPort),
      STATE_DIR: stateDir,
      SWEEP_INTERVAL_SECONDS: "2",
      // Tests that check storage for orphans sign up under this name.
      VAR_ADMIN_USERNAMES: "e2eadmin",
      ...(options.localRunner === false ? { LOCAL_RUNNER: "0" } : {}),
      ...options.env,
    },
    false,
  );
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const runnerUrl = `http://127.0.0.1:${transcoderPort}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const done = exited(child);
      child.kill("SIGTERM");
      await done;
    }
    // What npm start started may let go of its ports a moment after it exits; a restart on the
    // same ports waits for that rather than meeting "port in use".
    await portsReleased([apiPort, transcoderPort], Date.now() + 15_000);
    if (!options.stateDir) rmSync(stateDir, { recursive: true, force: true });
  };
  try {
    const deadline = Date.now() + 90_000;
    await waitUntilAnswering(`${apiUrl}/healthz`, child, logs, deadline);
    if (options.localRunner !== false) await waitUntilAnswering(`${runnerUrl}/healthz`, child, logs, deadline);
  } catch (err) {
    await stop();
    throw err;
  }
  return { apiUrl, runnerUrl, stateDir, process: child, logs, stop };
}

/** One JSON log line: `ts` (ISO time) and `msg`, and whatever else it says. */
export type LogLine = { ts: string; msg: string } & Record<string, unknown>;

/** The JSON lines among `logs` that start with `prefix` (e.g. `[runner] ` in npm start's output). */
export function jsonLines(logs: string[], prefix = ""): LogLine[] {
  const lines: LogLine[] = [];
  for (const line of logs) {
    if (!line.startsWith(prefix)) continue;
    // wrangler prints a Worker's console.warn/error in colour after "▲ [WARNING]" / "✘ [ERROR]".
    const text = stripVTControlCharacters(line.slice(prefix.length))
      .replace(/^(▲ \[WARNING\]|✘ \[ERROR\])\s*/, "")
      .trim();
    if (!text.startsWith("{")) continue;
    try {
      const parsed = JSON.parse(text) as LogLine;
      if (typeof parsed.msg === "string" && typeof parsed.ts === "string") lines.push(parsed);
    } catch {}
  }
  return lines;
}

/** What npm start's local runner logged. */
export const localRunnerLines = (platform: Pick<Platform, "logs">) => jsonLines(platform.logs, "[runner] ");
/** What npm start's Worker logged. */
export const workerLines = (platform: Pick<Platform, "logs">) => jsonLines(platform.logs, "[api] ");

export interface RunnerProcess {
  process: ChildProcess;
  /** Its health endpoint (`…/healthz`). */
  healthUrl: string;
  logs: string[];
  lines(): LogLine[];
  /** Resolves with its exit status (or the signal that ended it). */
  exited: Promise<number | string | null>;
  /** Signals its whole process group: the runner and the ffmpeg it started. */
  kill(signal: NodeJS.Signals): void;
  /** SIGTERM, then waits for it to exit. */
  stop(): Promise<void>;
}

/**
 * A runner started by hand beside the platform, as on someone else's machine: `node
 * transcoder/main.ts` with a runner token, its health on a free port. Resolves once it has
 * started (it may not have reached the Worker yet).
 */
export async function startRunnerProcess(options: {
  apiUrl: string;
  token: string;
  env?: Record<string, string>;
}): Promise<RunnerProcess> {
  const { child, logs } = startLogged(
    process.execPath,
    [join(root, "transcoder", "main.ts")],
    {
      ...process.env,
      RUNNER_API_BASE: options.apiUrl,
      RUNNER_TOKEN: options.token,
      HOST: "127.0.0.1",
      PORT: "0",
      ...options.env,
    },
    true,
  );
  const exited = new Promise<number | string | null>((r) => child.once("exit", (code, signal) => r(signal ?? code)));
  const lines = () => jsonLines(logs);
  const kill = (signal: NodeJS.Signals) => {
    try {
      process.kill(-(child.pid as number), signal);
    } catch {}
  };
  const deadline = Date.now() + 30_000;
  let started: LogLine | undefined;
  while (!started) {
    started = lines().find((l) => l.msg === "runner started");
    if (child.exitCode !== null) throw new Error(`the runner exited at once:\n${logs.join("\n")}`);
    if (Date.now() > deadline) {
      kill("SIGKILL");
      throw new Error(`the runner did not start:\n${logs.join("\n")}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    process: child,
    healthUrl: String(started.health),
    logs,
    lines,
    exited,
    kill,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        kill("SIGTERM");
        await exited;
      }
    },
  };
}

/** A runner token issued by an admin (`POST /api/admin/runners/`): the runner's id and the token. */
export async function issueRunnerToken(apiUrl: string, admin: Account, name: string) {
  const res = await fetch(`${apiUrl}/api/admin/runners/`, {
    method: "POST",
    headers: { ...admin.auth, "content-type": "application/json" },
    body: JSON.stringify({ name }),
  });
  if (res.status !== 201) throw new Error(`issuing a runner token: ${res.status} ${await res.text()}`);
  return (await res.json()) as { id: string; token: string };
}

export interface RunningWorker {
  url: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/**
 * `wrangler dev` for a config, on a port, with its own state directory; `migrate` applies the D1
 * migrations to that state first, for entries that need the database.
 */
export async function startWrangler(
  config: string,
  port: number,
  extraArgs: string[] = [],
  options: { migrate?: boolean } = {},
): Promise<RunningWorker> {
  const state = mkdtempSync(join(tmpdir(), "streambuddy-bench-"));
  if (options.migrate) applyMigrations(state, config);
  const args = ["dev", "-c", config, "--ip", "127.0.0.1", "--port", String(port), "--persist-to", state];
  // Its own process group, so stopping it reaches workerd too.
  const { child, logs } = startLogged(
    wranglerBin,
    [...args, "--log-level", "error", ...extraArgs],
    { ...process.env, CI: "true" },
    true,
  );
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const done = exited(child);
      try {
        process.kill(-(child.pid as number), "SIGTERM");
      } catch {}
      await done;
    }
    rmSync(state, { recursive: true, force: true });
  };
  try {
    await waitUntilAnswering(`${url}/healthz`, child, logs, Date.now() + 60_000, false);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, process: child, stop };
}

export const PASSWORD = "a long enough password";

export interface Account {
  key: string;
  username: string;
  auth: { authorization: string };
}

let counter = 0;

/** A username no other account of this run has: `prefix` and a unique tail. */
export const uniqueName = (prefix = "e2e") => `${prefix}${Date.now().toString(36)}${counter++}`;

const account = (username: string, key: string): Account => ({
  key,
  username,
  auth: { authorization: `Token ${key}` },
});

/** A new account through the public registration endpoint. */
export async function signUp(apiUrl: string, username = uniqueName()): Promise<Account> {
  const res = await fetch(`${apiUrl}/api/auth/registration/`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username, email: `${username}@example.com`, password1: PASSWORD, password2: PASSWORD }),
  });
  if (res.status !== 201) throw new Error(`sign-up failed: ${res.status} ${await res.text()}`);
  return account(username, ((await res.json()) as { key: string }).key);
}

/** A fresh key for an account made by `signUp`. */
export async function logIn(apiUrl: string, username: string): Promise<Account> {
  const res = await fetch(`${apiUrl}/api/auth/login/`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username, password: PASSWORD }),
  });
  if (!res.ok) throw new Error(`log-in failed: ${res.status} ${await res.text()}`);
  return account(username, ((await res.json()) as { key: string }).key);
}
