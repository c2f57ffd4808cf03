/**
 * Jobs that cannot finish: sources that are not (playable) video, a platform that refuses the
 * results, and a transcoder shutting down mid-encode.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanupJobRuns, isRunning, type JobRun, runFixtureJob } from "../test/transcoder/harness.ts";

afterAll(cleanupJobRuns);

/** The job ended failed with one `failed` event, nothing stored, nothing left on disk. */
async function expectFailed(run: JobRun, code: string) {
  expect(run.failed?.code).toBe(code);
  expect(run.failed?.message.length).toBeGreaterThan(20);
  expect(run.status).toMatchObject({ state: "failed", error: { code, message: run.failed?.message } });
  expect(run.api.events.filter((e) => e.type === "completed" || e.type === "failed")).toHaveLength(1);
  expect(run.api.events.at(-1)?.type).toBe("failed");
  expect(await readdir(run.workDir)).toEqual([]);
}

describe("sources that are refused", () => {
  it("refuses a text file named .mp4 as not_video", async () => {
    const run = await runFixtureJob("not-a-video.mp4");
    await expectFailed(run, "not_video");
    expect(run.failed?.message).toMatch(/not a video/);
    expect(run.api.files.size).toBe(0);
  });

  it("refuses an MP4 cut short (no moov atom) as unsupported, saying it is incomplete", async () => {
    const run = await runFixtureJob("truncated.mp4");
    await expectFailed(run, "unsupported");
    expect(run.failed?.message).toMatch(/incomplete or damaged/);
  });

  it("refuses a video longer than the job allows as too_long, before encoding", async () => {
    const run = await runFixtureJob("small-720p.mp4", { job: { maxDurationSeconds: 5 } });
    await expectFailed(run, "too_long");
    expect(run.failed?.message).toBe("The video is 10 s long; the longest video accepted is 5 s.");
    expect(run.ffmpegPid).toBeUndefined();
  });
});

describe("a source that does not say how long it is (raw H.264)", () => {
  let dir: string;
  let raw: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "streambuddy-test-raw-"));
    raw = join(dir, "no-duration.h264");
    await promisify(execFile)("ffmpeg", [
      ...["-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30:duration=6"],
      ...["-c:v", "libx264", "-preset", "ultrafast", "-f", "h264", raw],
    ]);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("is transcoded, with the duration measured while encoding", async () => {
    const run = await runFixtureJob(raw);
    expect(run.status.state).toBe("completed");
    expect(run.completed?.duration).toBeCloseTo(6, 0);
  });

  it("is stopped as too_long once the encode passes the limit", async () => {
    const run = await runFixtureJob(raw, { job: { maxDurationSeconds: 2 } });
    await expectFailed(run, "too_long");
    expect(run.ffmpegPid && isRunning(run.ffmpegPid)).toBe(false);
  });
});

describe("when the platform refuses the results", () => {
  it("stops encoding and fails with transcode_failed when a file cannot be stored", async () => {
    const run = await runFixtureJob("small-720p.mp4", {
      settings: { x264Preset: "medium" },
      failPut: (name) => (name === "chunk-1-00001.m4s" ? 403 : null),
    });
    await expectFailed(run, "transcode_failed");
    expect(run.failed?.message).toMatch(/chunk-1-00001\.m4s: HTTP 403/);
    expect(run.api.putAttempts.get("chunk-1-00001.m4s")).toBe(1);
    expect(run.ffmpegPid && isRunning(run.ffmpegPid)).toBe(false);
  });

  it("fails with transcode_failed when the source cannot be read", async () => {
    const run = await runFixtureJob("small-720p.mp4", { job: { token: "a-token-the-api-does-not-know" } });
    // The API refuses the events too; the state is still visible on GET /jobs/{id}.
    expect(run.status).toMatchObject({ state: "failed", error: { code: "transcode_failed" } });
    expect(run.status.error?.message).toMatch(/HTTP 401/);
    expect(await readdir(run.workDir)).toEqual([]);
  });
});

describe("shutting down mid-encode", () => {
  it("stops ffmpeg, reports nothing final, ends cancelled and removes its files", async () => {
    let aborted = false;
    const run = await runFixtureJob("small-720p.mp4", {
      // A slower preset keeps ffmpeg busy when the first segment arrives.
      settings: { x264Preset: "medium" },
      onPut: (_name, abort) => {
        if (!aborted) {
          aborted = true;
          abort();
        }
      },
    });
    expect(aborted).toBe(true);
    expect(run.status.state).toBe("cancelled");
    expect(run.api.events.filter((e) => e.type !== "progress")).toEqual([]);
    expect(run.ffmpegPid).toBeTypeOf("number");
    expect(isRunning(run.ffmpegPid as number)).toBe(false);
    expect(run.api.files.has("manifest.mpd")).toBe(false);
    expect(await readdir(run.workDir)).toEqual([]);
  });
});
