/**
 * The runner process as it is started (`node transcoder/main.ts`), against a stand-in Worker:
 * settings it refuses, its health port, a unit it gives back on SIGTERM, a refused token.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { type FakeJobApi, startFakeJobApi } from "../test/transcoder/fake-job-api.ts";
import { FAKE_RUNNER_TOKEN, type FakeWorker, startFakeWorker, unitFor } from "../test/transcoder/fake-worker.ts";
import { fixture } from "../test/transcoder/fixtures.ts";
import { isRunning } from "../test/transcoder/harness.ts";
import { EXIT_CONFIG } from "./settings.ts";

type Line = { msg: string } & Record<string, unknown>;

interface Started {
  child: ChildProcess;
  lines: Line[];
  exited: Promise<number | null>;
}

const started: Started[] = [];
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const { child } of started.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
  await Promise.all(closers.splice(0).map((c) => c()));
});

function startMain(env: Record<string, string>): Started {
  const child = spawn(process.execPath, [join(import.meta.dirname, "main.ts")], {
    env: { PATH: process.env.PATH, PORT: "0", TRANSCODER_X264_PRESET: "superfast", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: Line[] = [];
  let rest = "";
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
    const parts = (rest + chunk).split("\n");
    rest = parts.pop() ?? "";
    for (const part of parts) if (part.trim()) lines.push(JSON.parse(part) as Line);
  });
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  const one = { child, lines, exited };
  started.push(one);
  return one;
}

async function line(run: Started, msg: string, timeoutMs = 60_000): Promise<Line> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = run.lines.find((l) => l.msg === msg);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no "${msg}" line; got ${JSON.stringify(run.lines.map((l) => l.msg))}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function fakeWorker(): Promise<FakeWorker> {
  const worker = await startFakeWorker();
  closers.push(() => worker.close());
  return worker;
}

async function jobApi(unitId: string): Promise<FakeJobApi> {
  const api = await startFakeJobApi({ source: fixture("small-720p.mp4"), basePath: `/internal/units/${unitId}` });
  closers.push(() => api.close());
  return api;
}

describe("the runner process", () => {
  it("refuses to start without where to claim and a token, saying which is missing", async () => {
    const run = startMain({});
    expect(await run.exited).toBe(EXIT_CONFIG);
    expect((await line(run, "not starting: a setting is not valid")).error).toMatch(/RUNNER_API_BASE is required/);
  });

  it("answers /healthz with what it works on, and on SIGTERM stops ffmpeg and exits without a final event", async () => {
    const worker = await fakeWorker();
    const api = await jobApi("u1");
    const run = startMain({ RUNNER_API_BASE: worker.url, RUNNER_TOKEN: FAKE_RUNNER_TOKEN });
    const { health } = await line(run, "runner started");
    expect(health).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/healthz$/);
    worker.offer(unitFor(api, "u1"));
    const { pid } = await line(run, "ffmpeg started");
    const status = (await (await fetch(String(health))).json()) as Record<string, unknown>;
    expect(status).toMatchObject({
      ok: true,
      pid: run.child.pid,
      state: "busy",
      capacity: 1,
      running: [{ unitId: "u1", videoId: "video-1", state: "running" }],
    });
    run.child.kill("SIGTERM");
    expect(await run.exited).toBe(0);
    expect(isRunning(pid as number)).toBe(false);
    expect(api.events.filter((e) => e.type !== "progress")).toEqual([]);
    expect(await line(run, "unit finished")).toMatchObject({ unitId: "u1", outcome: "stopped" });
    // Every line is one JSON object with a timestamp.
    expect(run.lines.every((l) => typeof l.ts === "string" && !Number.isNaN(Date.parse(String(l.ts))))).toBe(true);
  });

  it("exits with the configuration status when the Worker refuses its token", async () => {
    const worker = await fakeWorker();
    worker.revoke();
    const run = startMain({ RUNNER_API_BASE: worker.url, RUNNER_TOKEN: FAKE_RUNNER_TOKEN });
    expect(await run.exited).toBe(EXIT_CONFIG);
    expect(run.lines.map((l) => l.msg)).toContain("runner token refused; stopping");
    expect(worker.claims).toHaveLength(1);
  });

  it("refuses a health port in use, before claiming anything", async () => {
    const worker = await fakeWorker();
    const first = startMain({ RUNNER_API_BASE: worker.url, RUNNER_TOKEN: FAKE_RUNNER_TOKEN });
    const port = new URL(String((await line(first, "runner started")).health)).port;
    await worker.claimsReached(1);
    const claimsBefore = worker.claims.length;
    const second = startMain({ RUNNER_API_BASE: worker.url, RUNNER_TOKEN: FAKE_RUNNER_TOKEN, PORT: port });
    expect(await second.exited).toBe(EXIT_CONFIG);
    expect((await line(second, "not starting: the health port is not available")).hint).toContain("set PORT");
    expect(worker.claims.length).toBe(claimsBefore);
  });
});
