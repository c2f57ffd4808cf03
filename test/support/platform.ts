/**
 * The running platform for end-to-end tests and benchmarks, from Node: the whole of it as
 * `npm start` starts it (scripts/start.mjs), or one `wrangler dev` for a config with its own state,
 * and an account on either.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const root = join(import.meta.dirname, "..", "..");
export const APP_CONFIG = join(root, "wrangler.toml");
const wranglerBin = join(root, "node_modules", ".bin", "wrangler");

/** A started process whose output is kept, for error messages and assertions. */
function startLogged(command: string, args: string[], env: Record<string, string | undefined>, detached: boolean) {
  const child = spawn(command, args, { cwd: root, env, stdio: ["ignore", "pipe", "pipe"], detached });
  const logs: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    stream?.setEncoding("utf8");
    stream?.on("data", (chunk: string) => logs.push(...chunk.split("\n").filter(Boolean)));
  }
  return { child, logs };
}

const exited = (child: ChildProcess) =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise<void>((r) => child.once("exit", () => r()));

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
  transcoderUrl: string;
  /** Where local D1/R2/Queues/Durable Objects persist (wrangler's --persist-to). */
  stateDir: string;
  /** The `npm start` process (scripts/start.mjs). */
  process: ChildProcess;
  logs: string[];
  stop(): Promise<void>;
}

/**
 * Starts what `npm start` starts on its own ports and with its own state directory, and waits
 * until both services answer.
 */
export async function startPlatform(
  options: {
    apiPort?: number;
    transcoderPort?: number;
    env?: Record<string, string>;
    /** Reuse this state (e.g. to restart on the same data); kept on stop. */
    stateDir?: string;
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
      // A transcoder that dies is noticed within seconds, not minutes, and retried at once.
      VAR_JOB_STALE_SECONDS: "8",
      SWEEP_INTERVAL_SECONDS: "2",
      // Tests that check storage for orphans sign up under this name.
      VAR_ADMIN_USERNAMES: "e2eadmin",
      ...options.env,
    },
    false,
  );
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const transcoderUrl = `http://127.0.0.1:${transcoderPort}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const done = exited(child);
      child.kill("SIGTERM");
      await done;
    }
    if (!options.stateDir) rmSync(stateDir, { recursive: true, force: true });
  };
  try {
    const deadline = Date.now() + 90_000;
    await waitUntilAnswering(`${apiUrl}/healthz`, child, logs, deadline);
    await waitUntilAnswering(`${transcoderUrl}/healthz`, child, logs, deadline);
  } catch (err) {
    await stop();
    throw err;
  }
  return { apiUrl, transcoderUrl, stateDir, process: child, logs, stop };
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
