/**
 * The encode phase on its own: real ffmpeg encoding a generated test pattern (no source file, no
 * job API), and a source served over HTTP that stops sending halfway.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { fixture } from "../test/transcoder/fixtures.ts";
import { isRunning, TEST_PRESET, testPatternCommand, testPatternSource } from "../test/transcoder/harness.ts";
import { buildEncodeCommand, MANIFEST_NAME, POSTER_NAME, planEncode } from "./encode.ts";
import { type BackpressureSource, ffmpegFailure, runEncodeSession } from "./encode-session.ts";
import { JobFailure } from "./failure.ts";
import { type FfmpegCommandSpec, FfmpegError } from "./ffmpeg.ts";

let root: string;
let outDir: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "streambuddy-test-session-"));
});
afterAll(() => rm(root, { recursive: true, force: true }));
beforeEach(async () => {
  outDir = await mkdtemp(join(root, "out-"));
});

/** A session's log, and the pid of its ffmpeg once started. */
function recordLog(onStarted?: (pid: number) => void) {
  const logs: { msg: string; fields?: Record<string, unknown> }[] = [];
  return {
    logs,
    pid: () => logs.find((l) => l.msg === "ffmpeg started")?.fields?.pid as number | undefined,
    log: (msg: string, fields?: Record<string, unknown>) => {
      logs.push({ msg, fields });
      if (msg === "ffmpeg started" && typeof fields?.pid === "number") onStarted?.(fields.pid);
    },
  };
}

/** Back-pressure switched by the test. */
function manualBackpressure() {
  const listeners = new Set<(paused: boolean) => void>();
  const source: BackpressureSource & { set(paused: boolean): void; readonly watchers: number } = {
    watchBackpressure(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    set(paused) {
      for (const listener of listeners) listener(paused);
    },
    get watchers() {
      return listeners.size;
    },
  };
  return source;
}

/** The process state letter from /proc (Linux): "T" is stopped by a signal. */
const processState = async (pid: number) => {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8");
  return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
};

/** The test pattern's frame at `t` seconds as a JPEG, made by ffmpeg alone. */
async function patternFrameAt(t: number): Promise<string> {
  const path = join(root, `pattern-at-${t}.jpg`);
  await promisify(execFile)("ffmpeg", [
    ...["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30:duration=4"],
    ...["-vf", `select='gte(t,${t})'`, "-frames:v", "1", "-q:v", "3", path],
  ]);
  return path;
}

/** SSIM (All) of two pictures of the same size. */
async function ssim(a: string, b: string): Promise<number> {
  const { stderr } = await promisify(execFile)("ffmpeg", [
    "-hide_banner",
    "-i",
    a,
    "-i",
    b,
    "-lavfi",
    "ssim",
    "-f",
    "null",
    "-",
  ]);
  return Number(/All:([0-9.]+)/.exec(stderr)?.[1]);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Progress from ffmpeg every 0.1 s rather than 0.5 s, so a short stall limit is still far above it. */
const frequentProgress = (command: FfmpegCommandSpec): FfmpegCommandSpec => ({
  ...command,
  global: [...command.global, "-stats_period", "0.1"],
});

/**
 * Serves a 6 s MPEG-TS test pattern over HTTP, but only its first third: the response stays
 * open and sends nothing more, so ffmpeg waits for data that never comes.
 */
async function serveStallingSource(dir: string) {
  const ts = join(dir, "pattern.ts");
  await promisify(execFile)("ffmpeg", [
    ...["-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30:duration=6"],
    ...["-c:v", "libx264", "-preset", "ultrafast", "-f", "mpegts", ts],
  ]);
  const bytes = await readFile(ts);
  let requests = 0;
  const server = createServer((req, res) => {
    requests++;
    res.writeHead(200, { "content-type": "video/mp2t", "content-length": bytes.byteLength });
    res.write(bytes.subarray(0, Math.floor(bytes.byteLength / 3)));
    req.on("close", () => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/pattern.ts`,
    requests: () => requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** How the session ended when it rejected. */
const rejection = (session: Promise<unknown>) =>
  session.then(
    () => null,
    (err: unknown) => err,
  );

describe("runEncodeSession", () => {
  it("runs the command to its end, reporting the seconds encoded as they grow", async () => {
    const seconds: number[] = [];
    const { log, pid } = recordLog();
    const result = await runEncodeSession({
      command: testPatternCommand(4, outDir, { audio: true }),
      maxDurationSeconds: 3600,
      onProgress: (s) => seconds.push(s),
      signal: new AbortController().signal,
      log,
    });
    expect(result.encodedSeconds).toBeCloseTo(4, 0);
    expect(seconds.length).toBeGreaterThan(0);
    expect(seconds).toEqual([...seconds].sort((a, b) => a - b));
    expect(seconds.at(-1)).toBe(result.encodedSeconds);
    expect(await readdir(outDir)).toContain(MANIFEST_NAME);
    expect(isRunning(pid() as number)).toBe(false);
  });

  it("stops an encode that runs past the longest video accepted as too_long", async () => {
    const seconds: number[] = [];
    const { log, pid } = recordLog();
    const error = await rejection(
      runEncodeSession({
        command: testPatternCommand(600, outDir),
        maxDurationSeconds: 1,
        onProgress: (s) => seconds.push(s),
        signal: new AbortController().signal,
        log,
      }),
    );
    expect(error).toBeInstanceOf(JobFailure);
    expect(error).toMatchObject({
      code: "too_long",
      message: "The video is longer than the longest video accepted (1 s).",
    });
    expect(Math.max(...seconds)).toBeGreaterThan(2);
    expect(Math.max(...seconds)).toBeLessThan(600);
    expect(isRunning(pid() as number)).toBe(false);
  });

  it("reports progress from the first frames, however far into the video the poster is taken", async () => {
    // The poster of this 600 s pattern is 60 s in: neither progress nor the watchdog may wait for it.
    const seconds: number[] = [];
    const { log } = recordLog();
    const error = await rejection(
      runEncodeSession({
        command: frequentProgress(testPatternCommand(600, outDir)),
        maxDurationSeconds: 20,
        onProgress: (s) => seconds.push(s),
        signal: new AbortController().signal,
        log,
        stallMs: 1500,
      }),
    );
    expect(error).toMatchObject({ code: "too_long" });
    expect(seconds.find((s) => s > 0)).toBeLessThan(20);
  });

  it("takes the poster 10% into the video, not its first frame", async () => {
    await runEncodeSession({
      command: testPatternCommand(4, outDir),
      maxDurationSeconds: 3600,
      signal: new AbortController().signal,
      log: () => {},
    });
    const poster = join(outDir, POSTER_NAME);
    expect(await ssim(poster, await patternFrameAt(0.4))).toBeGreaterThan(0.99);
    expect(await ssim(poster, await patternFrameAt(0))).toBeLessThan(0.99);
  });

  it("pauses ffmpeg while back-pressure is on, without the stall watchdog taking it for a stall", async () => {
    const backpressure = manualBackpressure();
    const seconds: number[] = [];
    let started: (pid: number) => void = () => {};
    const startedPid = new Promise<number>((resolve) => {
      started = resolve;
    });
    const { log, logs } = recordLog((pid) => started(pid));
    const stallMs = 1000;
    const session = runEncodeSession({
      command: frequentProgress(testPatternCommand(8, outDir)),
      maxDurationSeconds: 3600,
      backpressure,
      onProgress: (s) => seconds.push(s),
      signal: new AbortController().signal,
      log,
      stallMs,
    });
    const pid = await startedPid;
    backpressure.set(true);
    await sleep(stallMs * 2);
    expect(await processState(pid)).toBe("T");
    const whilePaused = seconds.length;
    await sleep(stallMs);
    expect(seconds.length).toBe(whilePaused);
    backpressure.set(false);

    const result = await session;
    expect(result.encodedSeconds).toBeCloseTo(8, 0);
    expect(logs.map((l) => l.msg)).toEqual(
      expect.arrayContaining(["ffmpeg paused while uploads catch up", "ffmpeg resumed"]),
    );
    expect(backpressure.watchers).toBe(0);
  });

  it("stops an encode whose input stops arriving, as transcode_failed", async () => {
    const source = await serveStallingSource(root);
    const { log, pid } = recordLog();
    try {
      const error = await rejection(
        runEncodeSession({
          command: frequentProgress(
            buildEncodeCommand(planEncode(testPatternSource(6), 1080), {
              input: source.url,
              outDir,
              x264Preset: TEST_PRESET,
            }),
          ),
          maxDurationSeconds: 3600,
          signal: new AbortController().signal,
          log,
          stallMs: 1000,
        }),
      );
      expect(error).toBeInstanceOf(JobFailure);
      expect(error).toMatchObject({
        code: "transcode_failed",
        message: "Encoding stopped making progress for 1 s.",
      });
      expect(source.requests()).toBeGreaterThan(0);
      expect(isRunning(pid() as number)).toBe(false);
    } finally {
      await source.close();
    }
  });

  it("stops ffmpeg when aborted and rejects with the abort's reason", async () => {
    const controller = new AbortController();
    const reason = new Error("shutting down");
    const { log, pid } = recordLog(() => setTimeout(() => controller.abort(reason), 200));
    const error = await rejection(
      runEncodeSession({
        command: testPatternCommand(600, outDir),
        maxDurationSeconds: 3600,
        signal: controller.signal,
        log,
      }),
    );
    expect(error).toBe(reason);
    expect(isRunning(pid() as number)).toBe(false);
  });

  it("calls input ffmpeg cannot decode unsupported", async () => {
    const { log, logs } = recordLog();
    const command = testPatternCommand(2, outDir);
    const error = await rejection(
      runEncodeSession({
        command: { ...command, input: { source: fixture("not-a-video.mp4"), options: [] } },
        maxDurationSeconds: 3600,
        signal: new AbortController().signal,
        log,
      }),
    );
    expect(error).toBeInstanceOf(JobFailure);
    expect(error).toMatchObject({ code: "unsupported" });
    expect((error as JobFailure).message).toMatch(/^The video could not be decoded \(.*Invalid data found/);
    expect(logs.map((l) => l.msg)).toContain("ffmpeg failed");
  });
});

describe("ffmpegFailure", () => {
  const exit = (stderr: string) => new FfmpegError("ffmpeg exited with code 1", stderr);

  it("calls a missing decoder or unreadable input unsupported, with ffmpeg's own line", () => {
    expect(ffmpegFailure(exit("Decoder (codec av1) not found for input stream #0:0\n"))).toMatchObject({
      code: "unsupported",
      message: "The video could not be decoded (Decoder (codec av1) not found for input stream #0:0).",
    });
    expect(ffmpegFailure(exit("x.mp4: Invalid data found when processing input\nConversion failed!\n"))).toMatchObject({
      code: "unsupported",
      message: "The video could not be decoded (x.mp4: Invalid data found when processing input).",
    });
  });

  it("calls anything else transcode_failed, with the last meaningful line", () => {
    const failure = ffmpegFailure(
      exit("Error initializing output stream 0:0 -- Error while opening encoder\nConversion failed!\n\n"),
    );
    expect(failure).toMatchObject({
      code: "transcode_failed",
      message: "Encoding failed (Error initializing output stream 0:0 -- Error while opening encoder).",
    });
    expect(ffmpegFailure(exit(""))).toMatchObject({ message: "Encoding failed (ffmpeg exited with code 1)." });
  });
});
