/**
 * Runs one transcode job end to end, phase by phase, and reports to the Worker's internal job API:
 *
 *  1. probe (probe.ts): ffprobe the source over HTTP and refuse what cannot be played;
 *  2. encode (encode.ts plans the ladder and the ffmpeg command, with the storyboard's sprite
 *     sheets and thumbnails from the same decode: storyboard.ts; encode-session.ts runs it),
 *     while the uploader stores segments as they are finished and deletes each once stored;
 *  3. finalize (finalize.ts): honest bandwidths, the poster, the storyboard, the HLS playlists
 *     and the MPD last; then the downloads (downloads.ts), an MP4 per rung and the audio as M4A,
 *     copied from the stored segments;
 *  4. report (report.ts): `progress` every few seconds, then `completed` or `failed`.
 *
 * On abort (the runner stopping, or the unit's lease lost) ffmpeg is stopped and the job ends
 * `cancelled` with no final event, so the Worker gives the unit to another runner. The scratch
 * directory is always removed.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import type { RunnerJobState, TranscodeJob } from "../shared/protocol.ts";
import { makeDownloads } from "./downloads.ts";
import { buildEncodeCommand, httpInputOptions, planEncode } from "./encode.ts";
import { runEncodeSession } from "./encode-session.ts";
import { finalizeOutputs } from "./finalize.ts";
import { createJobApiClient, type JobApiClient } from "./job-api.ts";
import { displaySize } from "./ladder.ts";
import { inspectSource } from "./probe.ts";
import { createJobReporter, type JobReporter } from "./report.ts";
import { settingsFromEnv, type TranscoderSettings } from "./settings.ts";
import { planStoryboard, withStoryboard } from "./storyboard.ts";
import { startUploader } from "./uploader.ts";

export interface RunContext {
  signal: AbortSignal;
  onStatus: (update: Partial<Omit<RunnerJobState, "jobId">>) => void;
  log: (msg: string, fields?: Record<string, unknown>) => void;
  fetch?: typeof fetch;
  /** Defaults to the environment's settings ({@link settingsFromEnv}). */
  settings?: Partial<TranscoderSettings>;
  /** Progress events at most this often, and at least this often while encoding (a heartbeat). */
  progressIntervalMs?: number;
}

/** The run's reporter (report.ts), each progress value also shown in the runner's status. */
export function createRunReporter(api: JobApiClient, ctx: RunContext, log: RunContext["log"]): JobReporter {
  return createJobReporter(api, {
    intervalMs: ctx.progressIntervalMs ?? 2000,
    signal: ctx.signal,
    onProgress: (progress) => ctx.onStatus({ progress }),
    log,
  });
}

/** Reports why the run did not complete (nothing when it was cancelled) and shows how it ended. */
export async function reportRunEnd(report: JobReporter, ctx: RunContext, err: unknown) {
  const end = await report.failed(err);
  ctx.onStatus(end.state === "cancelled" ? { state: "cancelled" } : { state: "failed", error: end.error });
}

export async function runTranscodeJob(job: TranscodeJob, ctx: RunContext): Promise<void> {
  const settings: TranscoderSettings = { ...settingsFromEnv(process.env), ...ctx.settings };
  const log = (msg: string, fields?: Record<string, unknown>) => ctx.log(msg, { jobId: job.jobId, ...fields });
  const api = createJobApiClient(job, { fetch: ctx.fetch, log });
  const report = createRunReporter(api, ctx, log);
  // Stops the work when the job fails from another side (an upload that cannot be stored).
  const jobAbort = new AbortController();
  const stopJob = () => jobAbort.abort(ctx.signal.reason);
  ctx.signal.addEventListener("abort", stopJob, { once: true });
  let scratch: string | undefined;

  ctx.onStatus({ state: "running", progress: 0, error: null });
  try {
    report.progress(0, "probing");
    const source = await inspectSource(api.source, {
      maxDurationSeconds: job.maxDurationSeconds,
      readHead: (length, signal) => api.readSourceHead(length, signal),
      signal: jobAbort.signal,
    });
    const plan = planEncode(source, job.maxHeight);
    log("source probed", {
      format: source.formatName,
      duration: source.duration,
      video: `${source.video.codec} ${source.video.width}x${source.video.height}`,
      audio: source.audio?.codec ?? null,
      rungs: plan.rungs.map((r) => `${r.width}x${r.height}`),
      preset: settings.x264Preset,
    });

    scratch = await mkdtemp(join(settings.workDir, "streambuddy-transcode-"));
    const uploader = startUploader({
      dir: scratch,
      api,
      concurrency: settings.uploadConcurrency,
      maxPendingBytes: settings.maxPendingBytes,
      signal: jobAbort.signal,
      onFatal: (err) => {
        log("upload failed", { error: err.message });
        jobAbort.abort(err);
      },
    });
    // For the whole job: uploads can also fall behind once ffmpeg is done.
    uploader.watchBackpressure((behind) => log(behind ? "uploads behind" : "uploads caught up"));
    const encode = buildEncodeCommand(plan, {
      input: api.source.url,
      inputOptions: httpInputOptions(api.source.token),
      outDir: scratch,
      x264Preset: settings.x264Preset,
    });
    // Sheets and thumbnails by time need the length up front, to lay out their tiles.
    const storyboard = source.duration ? planStoryboard(plan, source.duration) : null;
    const { encodedSeconds } = await runEncodeSession({
      command: storyboard ? withStoryboard(encode, storyboard, scratch) : encode,
      maxDurationSeconds: job.maxDurationSeconds,
      backpressure: uploader,
      onProgress: (seconds) => report.progress(source.duration ? (seconds / source.duration) * 100 : 0, "encoding"),
      signal: jobAbort.signal,
      log,
    });

    report.progress(99, "uploading");
    await uploader.finish();
    const outputs = await finalizeOutputs({
      dir: scratch,
      uploader,
      log,
      ...(storyboard && source.duration
        ? { storyboard: { plan: storyboard, duration: source.duration, concurrency: settings.uploadConcurrency } }
        : {}),
    });
    // The downloads come from the stored segments, as they would for an encode in parts.
    const downloads = await makeDownloads({
      files: uploader.uploaded,
      renditions: outputs.renditions,
      dir: scratch,
      store: api,
      signal: jobAbort.signal,
      log,
    });
    const shown = displaySize(source.video);
    await report.completed({
      type: "completed",
      duration: Math.round((source.duration ?? encodedSeconds) * 1000) / 1000,
      width: Math.round(shown.width),
      height: Math.round(shown.height),
      renditions: outputs.renditions,
      files: [...uploader.uploaded.keys(), ...downloads],
      poster: outputs.poster,
      ...(outputs.storyboard ? { storyboard: outputs.storyboard } : {}),
    });
    ctx.onStatus({ state: "completed", progress: 100, error: null });
  } catch (err) {
    await reportRunEnd(report, ctx, err);
  } finally {
    await report.stop();
    ctx.signal.removeEventListener("abort", stopJob);
    // Ends whatever still belongs to the job: the uploader's scan, requests in flight.
    if (!jobAbort.signal.aborted) jobAbort.abort(new Error("the job is over"));
    if (scratch) await rm(scratch, { recursive: true, force: true });
  }
}
