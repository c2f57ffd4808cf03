/**
 * Starts what `npm start` starts (scripts/start.mjs) on its own ports and with its own state
 * directory, waits until both services answer, and stops it again.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface Platform {
  apiUrl: string;
  /** Where local D1/R2/Queues/Durable Objects persist (wrangler's --persist-to). */
  stateDir: string;
  transcoderUrl: string;
  logs: string[];
  stop(): Promise<void>;
}

const root = join(import.meta.dirname, "..", "..");

async function waitFor(url: string, deadline: number, child: ChildProcess, logs: string[]) {
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`platform exited early:\n${logs.slice(-40).join("\n")}`);
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} did not answer in time:\n${logs.slice(-40).join("\n")}`);
}

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
  const logs: string[] = [];
  const child = spawn(process.execPath, [join(root, "scripts", "start.mjs")], {
    cwd: root,
    env: {
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
    stdio: ["ignore", "pipe", "pipe"],
  });
  for (const stream of [child.stdout, child.stderr]) {
    stream?.setEncoding("utf8");
    stream?.on("data", (chunk: string) => logs.push(...chunk.split("\n").filter(Boolean)));
  }
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const transcoderUrl = `http://127.0.0.1:${transcoderPort}`;
  const deadline = Date.now() + 90_000;
  const stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    }
    if (!options.stateDir) rmSync(stateDir, { recursive: true, force: true });
  };
  try {
    await waitFor(`${apiUrl}/healthz`, deadline, child, logs);
    await waitFor(`${transcoderUrl}/healthz`, deadline, child, logs);
  } catch (err) {
    await stop();
    throw err;
  }
  return { apiUrl, stateDir, transcoderUrl, logs, stop };
}
