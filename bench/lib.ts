/** Helpers for `npm run bench`: start Workers under wrangler dev, drive load, summarise. */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const root = join(import.meta.dirname, "..");

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
  if (options.migrate) {
    const migrate = spawnSync(
      join(root, "node_modules", ".bin", "wrangler"),
      ["d1", "migrations", "apply", "DB", "--local", "-c", config, "--persist-to", state],
      { cwd: root, env: { ...process.env, CI: "true" }, encoding: "utf8" },
    );
    if (migrate.status !== 0) throw new Error(`migrations failed:\n${migrate.stdout}${migrate.stderr}`);
  }
  const child = spawn(
    join(root, "node_modules", ".bin", "wrangler"),
    [
      "dev",
      "-c",
      config,
      "--ip",
      "127.0.0.1",
      "--port",
      String(port),
      "--persist-to",
      state,
      "--log-level",
      "error",
      ...extraArgs,
    ],
    { cwd: root, env: { ...process.env, CI: "true" }, stdio: ["ignore", "pipe", "pipe"], detached: true },
  );
  const output: string[] = [];
  child.stdout?.on("data", (d) => output.push(String(d)));
  child.stderr?.on("data", (d) => output.push(String(d)));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once("exit", r));
      try {
        process.kill(-(child.pid as number), "SIGTERM");
      } catch {}
      await exited;
    }
    rmSync(state, { recursive: true, force: true });
  };
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited:\n${output.join("")}`);
    try {
      await fetch(`${url}/healthz`);
      return { url, process: child, stop };
    } catch {
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  await stop();
  throw new Error(`wrangler dev did not start:\n${output.join("")}`);
}

export interface LoadResult {
  requests: number;
  errors: number;
  seconds: number;
  rps: number;
  p50: number;
  p99: number;
}

/** Sends `requests` requests over `concurrency` connections; latencies in milliseconds. */
export async function load(
  makeRequest: () => Promise<Response>,
  requests: number,
  concurrency: number,
): Promise<LoadResult> {
  const latencies: number[] = [];
  let errors = 0;
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < requests) {
      next++;
      const t0 = performance.now();
      try {
        const res = await makeRequest();
        await res.arrayBuffer();
        if (!res.ok) errors++;
      } catch {
        errors++;
      }
      latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? 0;
  return { requests, errors, seconds, rps: requests / seconds, p50: pct(50), p99: pct(99) };
}

/**
 * Measures A and B in alternating rounds (A B A B …) so that drift on a shared machine hits both
 * equally; returns the per-side medians of throughput and p99.
 */
export async function sideBySide(
  a: () => Promise<LoadResult>,
  b: () => Promise<LoadResult>,
  rounds: number,
): Promise<{ a: LoadResult; b: LoadResult }> {
  const as: LoadResult[] = [];
  const bs: LoadResult[] = [];
  for (let i = 0; i < rounds; i++) {
    as.push(await a());
    bs.push(await b());
  }
  const median = (xs: LoadResult[]): LoadResult => {
    const by = (k: keyof LoadResult) => [...xs].sort((x, y) => x[k] - y[k])[Math.floor(xs.length / 2)]?.[k] ?? 0;
    return {
      requests: by("requests"),
      errors: xs.reduce((n, x) => n + x.errors, 0),
      seconds: by("seconds"),
      rps: by("rps"),
      p50: by("p50"),
      p99: by("p99"),
    };
  };
  return { a: median(as), b: median(bs) };
}

export const fmt = (n: number, digits = 1) => n.toFixed(digits);

export function printTable(title: string, rows: [string, string][]) {
  console.log(`\n## ${title}`);
  const width = Math.max(...rows.map(([k]) => k.length));
  for (const [k, v] of rows) console.log(`  ${k.padEnd(width)}  ${v}`);
}

/** A new account on a running app; returns its API key. */
export async function signUp(url: string, username: string): Promise<string> {
  const password = "bench password 1";
  const res = await fetch(`${url}/api/auth/registration/`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username, email: `${username}@example.com`, password1: password, password2: password }),
  });
  if (res.status !== 201) throw new Error(`sign-up failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { key: string }).key;
}
