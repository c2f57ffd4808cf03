/**
 * Units claimed from a stand-in Worker and worked for real (ffmpeg) against a stand-in unit API:
 * an encode unit runs through the pipeline, a 410 mid-encode stops it at once, and a probe unit
 * goes to the chunked encode.
 */
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { type FakeJobApi, startFakeJobApi } from "../test/transcoder/fake-job-api.ts";
import { FAKE_RUNNER_TOKEN, type FakeWorker, startFakeWorker, unitFor } from "../test/transcoder/fake-worker.ts";
import { fixture } from "../test/transcoder/fixtures.ts";
import { isRunning, TEST_PRESET } from "../test/transcoder/harness.ts";
import { type Runner, startRunner } from "./runner.ts";
import { createUnitWork } from "./units.ts";

type Line = { msg: string; fields?: Record<string, unknown> };

let worker: FakeWorker | undefined;
let runner: Runner | undefined;
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await runner?.stop();
  await worker?.close();
  await Promise.all(cleanups.splice(0).map((c) => c()));
  runner = undefined;
  worker = undefined;
});

async function until<T>(read: () => T | undefined, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error("not reached in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A runner with the real unit work, a unit API for `unitId` serving `source`, and its log. */
async function runnerWithUnit(
  source: string,
  unitId: string,
  api: Partial<Parameters<typeof startFakeJobApi>[0]> = {},
) {
  const jobApi: FakeJobApi = await startFakeJobApi({ source, basePath: `/internal/units/${unitId}`, ...api });
  const workDir = await mkdtemp(join(tmpdir(), "streambuddy-test-runner-"));
  cleanups.push(async () => {
    await jobApi.close();
    await rm(workDir, { recursive: true, force: true });
  });
  worker = await startFakeWorker();
  const logs: Line[] = [];
  const log = (msg: string, fields?: Record<string, unknown>) => logs.push({ msg, fields });
  runner = startRunner({
    apiBase: worker.url,
    token: FAKE_RUNNER_TOKEN,
    capacity: 1,
    work: createUnitWork({ log, settings: { x264Preset: TEST_PRESET, workDir }, progressIntervalMs: 250 }),
    log,
    waitSeconds: 1,
  });
  return { jobApi, workDir, logs, finished: () => logs.find((l) => l.msg === "unit finished") };
}

describe("an encode unit", () => {
  it("runs through the pipeline and is reported completed, with its start and end logged", async () => {
    const { jobApi, workDir, logs, finished } = await runnerWithUnit(fixture("silent-640x360.mp4"), "u1");
    worker?.offer(unitFor(jobApi, "u1", { attempt: 2 }));
    const end = await until(finished);
    expect(end.fields).toMatchObject({ unitId: "u1", attempt: 2, outcome: "completed" });
    const completed = jobApi.events.find((e) => e.type === "completed");
    expect(completed?.type === "completed" && completed.files.every((f) => jobApi.files.has(f))).toBe(true);
    expect(jobApi.files.has("manifest.mpd")).toBe(true);
    const start = logs.find((l) => l.msg === "unit started");
    expect(start?.fields).toMatchObject({ unitId: "u1", videoId: "video-1", jobId: "job-1", kind: "encode" });
    // The pipeline's own lines say which unit they are about.
    expect(logs.find((l) => l.msg === "source probed")?.fields).toMatchObject({ unitId: "u1" });
    expect(await readdir(workDir)).toEqual([]);
    expect(runner?.status().units).toMatchObject({ started: 1, completed: 1 });
  });

  it("stops at once when the platform answers 410 mid-encode: ffmpeg ends, nothing more is sent", async () => {
    const { jobApi, workDir, logs, finished } = await runnerWithUnit(fixture("small-720p.mp4"), "u2", {
      refuseEvent: (e) => (e.type === "progress" && e.stage === "encoding" ? 410 : null),
    });
    worker?.offer(unitFor(jobApi, "u2"));
    const end = await until(finished);
    expect(end.fields).toMatchObject({ unitId: "u2", outcome: "stopped", stoppedBy: 410 });
    const pid = logs.find((l) => l.msg === "ffmpeg started")?.fields?.pid as number;
    expect(pid).toBeGreaterThan(0);
    expect(isRunning(pid)).toBe(false);
    // One encoding progress was refused; nothing was sent after it: no completion, no failure.
    expect(jobApi.refusedEvents.map((e) => e.type)).toEqual(["progress"]);
    expect(jobApi.events.every((e) => e.type === "progress")).toBe(true);
    expect(jobApi.files.has("manifest.mpd")).toBe(false);
    expect(await readdir(workDir)).toEqual([]);
    // The runner asks for more work right after.
    expect(runner?.status()).toMatchObject({ state: "claiming", running: [] });
  });

  it("hands a probe unit to the chunked encode, which answers with the chunks and the probed source", async () => {
    const { jobApi, finished } = await runnerWithUnit(fixture("small-720p.mp4"), "u3");
    worker?.offer(unitFor(jobApi, "u3", { kind: "probe", input: { firstChunkSeconds: 8, chunkSeconds: 60 } }));
    const end = await until(finished);
    expect(end.fields).toMatchObject({ outcome: "completed" });
    const done = jobApi.events.find((e) => e.type === "unit_done");
    expect(done?.type === "unit_done" && done.result).toMatchObject({
      chunks: 1,
      audio: true,
      source: { duration: 10 },
    });
  });
});
