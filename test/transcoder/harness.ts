/**
 * Runs real transcode jobs against the fake internal job API, and inspects what came out with
 * ffprobe. For the transcoder's integration tests.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { isAbsolute, join } from "node:path";
import { promisify } from "node:util";
import type { JobEvent, RunnerJobState, TranscodeJob } from "../../shared/protocol.ts";
import { runTranscodeJob } from "../../transcoder/pipeline.ts";
import type { TranscoderSettings } from "../../transcoder/settings.ts";
import { type FakeJobApi, startFakeJobApi } from "./fake-job-api.ts";
import { fixture } from "./fixtures.ts";

const run = promisify(execFile);

export type CompletedEvent = Extract<JobEvent, { type: "completed" }>;
export type FailedEvent = Extract<JobEvent, { type: "failed" }>;
export type ProgressEvent = Extract<JobEvent, { type: "progress" }>;

export interface JobRun {
  api: FakeJobApi;
  job: TranscodeJob;
  status: Omit<RunnerJobState, "jobId">;
  logs: { msg: string; fields?: Record<string, unknown> }[];
  /** Parent of the job's scratch directory; empty again after the job. */
  workDir: string;
  completed: CompletedEvent | undefined;
  failed: FailedEvent | undefined;
  progress: ProgressEvent[];
  /** pid of the ffmpeg encode, when it was started. */
  ffmpegPid: number | undefined;
}

export interface RunOptions {
  job?: Partial<TranscodeJob>;
  settings?: Partial<TranscoderSettings>;
  failPut?: (name: string, attempt: number) => number | null;
  /** Called for each stored file; `abort` cancels the job as a server shutdown would. */
  onPut?: (name: string, abort: () => void) => void;
  progressIntervalMs?: number;
}

/** Fast enough for tests, and still H.264 High profile (ultrafast would fall back to Baseline). */
export const TEST_PRESET = "superfast";

const cleanups: (() => Promise<void>)[] = [];

/** Removes the fake APIs and scratch parents of every job run so far. */
export async function cleanupJobRuns() {
  await Promise.all(cleanups.splice(0).map((c) => c()));
}

/** Runs one job on a fixture (by name) or any file (by absolute path). */
export async function runFixtureJob(source: string, options: RunOptions = {}): Promise<JobRun> {
  const controller = new AbortController();
  const abort = () => controller.abort(new Error("shutting down"));
  const api = await startFakeJobApi({
    source: isAbsolute(source) ? source : fixture(source),
    failPut: options.failPut,
    onPut: (name) => options.onPut?.(name, abort),
  });
  const workDir = await mkdtemp(join(tmpdir(), "streambuddy-test-work-"));
  cleanups.push(async () => {
    await api.close();
    await rm(workDir, { recursive: true, force: true });
  });
  const job = api.job(options.job);
  const status: Omit<RunnerJobState, "jobId"> = { state: "accepted", progress: 0, error: null };
  const logs: JobRun["logs"] = [];
  await runTranscodeJob(job, {
    signal: controller.signal,
    onStatus: (update) => Object.assign(status, update),
    log: (msg, fields) => logs.push({ msg, fields }),
    settings: { x264Preset: TEST_PRESET, workDir, ...options.settings },
    progressIntervalMs: options.progressIntervalMs ?? 250,
  });
  const pid = logs.find((l) => l.msg === "ffmpeg started")?.fields?.pid;
  return {
    api,
    job,
    status,
    logs,
    workDir,
    completed: api.events.find((e): e is CompletedEvent => e.type === "completed"),
    failed: api.events.find((e): e is FailedEvent => e.type === "failed"),
    progress: api.events.filter((e): e is ProgressEvent => e.type === "progress"),
    ffmpegPid: typeof pid === "number" ? pid : undefined,
  };
}

/** Whether a process (an ffmpeg a test started) still runs. */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function ffprobeJson(path: string, args: string[]): Promise<Record<string, unknown>> {
  const { stdout } = await run("ffprobe", ["-v", "error", "-of", "json", ...args, path], { maxBuffer: 64 << 20 });
  return JSON.parse(stdout) as Record<string, unknown>;
}

/** Presentation times (s) of the keyframes of the first video stream. */
export async function keyframeTimes(path: string): Promise<number[]> {
  const out = await ffprobeJson(path, [
    "-select_streams",
    "v:0",
    "-skip_frame",
    "nokey",
    "-show_entries",
    "frame=pts_time,key_frame",
  ]);
  return ((out.frames ?? []) as { pts_time: string }[]).map((f) => Number(f.pts_time));
}

export async function streamInfo(path: string): Promise<Record<string, string | number>[]> {
  const out = await ffprobeJson(path, ["-show_streams"]);
  return (out.streams ?? []) as Record<string, string | number>[];
}

/** One Representation as a playable file: its init segment followed by its media segments. */
export async function joinRepresentation(filesDir: string, id: string): Promise<string> {
  const names = (await readdir(filesDir)).filter((n) => n.startsWith(`chunk-${id}-`) && n.endsWith(".m4s")).sort();
  const parts = await Promise.all([`init-${id}.m4s`, ...names].map((n) => readFile(join(filesDir, n))));
  const out = join(filesDir, `joined-${id}.mp4`);
  await writeFile(out, Buffer.concat(parts));
  return out;
}

/** Decodes a manifest (DASH or HLS) completely with ffmpeg; rejects on any error. */
export async function decodeAll(manifest: string): Promise<void> {
  await run("ffmpeg", ["-v", "error", "-xerror", "-i", manifest, "-map", "0", "-f", "null", "-"]);
}
