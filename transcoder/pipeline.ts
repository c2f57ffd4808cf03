/**
 * Runs one transcode job end to end and reports to the Worker's internal job API:
 *
 *  1. ffprobe the source over HTTP (Range; nothing is downloaded to disk) and refuse what cannot
 *     be played (`not_video`, `unsupported`, `too_long`);
 *  2. plan the ladder and run one ffmpeg process for every rung and the poster;
 *  3. upload segments as they are finished, deleting each once stored; at the end set honest
 *     bandwidths in the manifests and upload the poster, the HLS playlists and the MPD last;
 *  4. post `progress` events every few seconds, then `completed` or `failed`.
 *
 * On abort (the server shutting down) ffmpeg is stopped and the job ends `cancelled` with no
 * final event, so the Worker's sweep hands it to another transcoder. The scratch directory is
 * always removed.
 */
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import type { EncodedRendition, FailureCode, JobEvent, RunnerJobState, TranscodeJob } from "../shared/protocol.ts";
import {
  buildEncodeCommand,
  HLS_MASTER_NAME,
  HLS_MEDIA_PLAYLIST_NAME,
  httpInputOptions,
  MANIFEST_NAME,
  mediaSegmentName,
  POSTER_NAME,
  planEncode,
  SEGMENT_SECONDS,
} from "./encode.ts";
import { FfmpegError, probeMedia, type RunningFfmpeg, startFfmpeg } from "./ffmpeg.ts";
import { createJobApiClient, type JobApiClient, JobApiError } from "./job-api.ts";
import { displaySize } from "./ladder.ts";
import { finishHlsMaster, finishHlsMediaPlaylist, parseMpd, peakBitrate, setMpdBandwidths } from "./manifest.ts";
import { settingsFromEnv, type TranscoderSettings } from "./settings.ts";
import { assessSource, explainProbeFailure, formatDuration, type SourceInfo, sniffContainer } from "./source.ts";
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

/** ffmpeg is stopped (and the job failed) when its output stops advancing for this long. */
export const FFMPEG_STALL_MS = 5 * 60_000;

/** A reason to end the job `failed`, with the code and message the uploader will see. */
export class JobFailure extends Error {
  readonly code: FailureCode;
  constructor(code: FailureCode, message: string) {
    super(message);
    this.name = "JobFailure";
    this.code = code;
  }
}

/** Sends progress at most every `intervalMs`, one request at a time, never blocking the encode. */
export function createProgressReporter(api: JobApiClient, ctx: RunContext, intervalMs: number) {
  let lastSent = 0;
  let lastValue = -1;
  let inFlight: Promise<void> | null = null;
  let stopped = false;
  let latest: { progress: number; stage: "probing" | "encoding" | "uploading" } = { progress: 0, stage: "probing" };
  const send = () => {
    if (inFlight || stopped || ctx.signal.aborted) return;
    lastSent = Date.now();
    lastValue = latest.progress;
    const event: JobEvent = { type: "progress", progress: latest.progress, stage: latest.stage };
    inFlight = api
      .postEvent(event, { signal: ctx.signal, retry: { attempts: 2, baseDelayMs: 250 } })
      .catch((err: unknown) => {
        if (!ctx.signal.aborted) ctx.log("progress event not delivered", { error: String(err) });
      })
      .finally(() => {
        inFlight = null;
      });
  };
  // A heartbeat: the Worker re-queues jobs that stay silent, so report even when nothing moves.
  const heartbeat = setInterval(() => {
    if (Date.now() - lastSent >= intervalMs) send();
  }, intervalMs);
  return {
    update(progress: number, stage: "probing" | "encoding" | "uploading") {
      const value = Math.max(latest.progress, Math.min(99, Math.floor(progress)));
      latest = { progress: value, stage };
      ctx.onStatus({ progress: value });
      if (Date.now() - lastSent >= intervalMs || (stage !== "encoding" && value !== lastValue)) send();
    },
    /** No more progress; resolves once the one in flight has settled, so it cannot overtake the final event. */
    async stop() {
      stopped = true;
      clearInterval(heartbeat);
      await inFlight;
    },
  };
}

/** ffprobe over the unit's API; a source that cannot be played is a {@link JobFailure} that says why. */
export async function inspectSource(job: TranscodeJob, api: JobApiClient, signal: AbortSignal): Promise<SourceInfo> {
  const url = `${job.apiBase}/source`;
  let probe: Awaited<ReturnType<typeof probeMedia>>;
  try {
    probe = await probeMedia(url, httpInputOptions(job.token), signal);
  } catch (err) {
    if (signal.aborted) throw err;
    const stderr = err instanceof FfmpegError ? `${err.message}\n${err.stderr}` : String(err);
    // Tell a source that is not media (or is damaged) from one the platform could not serve.
    let head: Uint8Array;
    try {
      head = await api.readSourceHead(4096, signal);
    } catch (readErr) {
      if (signal.aborted) throw readErr;
      throw new JobFailure(
        "transcode_failed",
        `The source could not be read from the platform (${readErr instanceof Error ? readErr.message : String(readErr)}).`,
      );
    }
    if (head.byteLength === 0) throw new JobFailure("not_video", "The file is empty.");
    const verdict = explainProbeFailure(stderr, sniffContainer(head));
    throw new JobFailure(verdict.code, verdict.message);
  }
  const verdict = assessSource(probe, { maxDurationSeconds: job.maxDurationSeconds });
  if (!verdict.ok) throw new JobFailure(verdict.code, verdict.message);
  return verdict.source;
}

/** The last meaningful line ffmpeg printed, for a failure message. */
export function ffmpegReason(err: FfmpegError): string {
  const lines = err.stderr
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !/^(Conversion failed|Exiting normally)/.test(l));
  return (lines.at(-1) ?? err.message).slice(0, 300);
}

/**
 * The unit ends in a `failed` event: a {@link JobFailure}'s code and message, or a general reason
 * (the platform refused the results, the transcoder broke).
 */
export async function reportFailure(api: JobApiClient, ctx: RunContext, log: RunContext["log"], err: unknown) {
  const failure =
    err instanceof JobFailure
      ? err
      : err instanceof JobApiError
        ? new JobFailure("transcode_failed", `The platform did not accept the results (${err.message}).`)
        : new JobFailure("transcode_failed", "The transcoder stopped unexpectedly.");
  if (!(err instanceof JobFailure)) log("job failed", { error: err instanceof Error ? err.stack : String(err) });
  else log("job refused", { code: failure.code, reason: failure.message });
  ctx.onStatus({ state: "failed", error: { code: failure.code, message: failure.message } });
  await api
    .postEvent({ type: "failed", code: failure.code, message: failure.message })
    .catch((postErr: unknown) => log("failed event not delivered", { error: String(postErr) }));
}

export async function runTranscodeJob(job: TranscodeJob, ctx: RunContext): Promise<void> {
  const settings: TranscoderSettings = { ...settingsFromEnv(process.env), ...ctx.settings };
  const log = (msg: string, fields?: Record<string, unknown>) => ctx.log(msg, { jobId: job.jobId, ...fields });
  const api = createJobApiClient(job, { fetch: ctx.fetch, log });
  const progress = createProgressReporter(api, ctx, ctx.progressIntervalMs ?? 2000);
  // Stops the encode when the job fails from another side (an upload that cannot be stored).
  const jobAbort = new AbortController();
  const stopJob = () => jobAbort.abort(ctx.signal.reason);
  ctx.signal.addEventListener("abort", stopJob, { once: true });
  let scratch: string | undefined;
  let ffmpeg: RunningFfmpeg | undefined;
  let pauseEncode: (pause: boolean) => void = () => {};

  ctx.onStatus({ state: "running", progress: 0, error: null });
  try {
    progress.update(0, "probing");
    const source = await inspectSource(job, api, jobAbort.signal);
    const plan = planEncode(source, job.maxHeight);
    log("source probed", {
      format: source.formatName,
      duration: source.duration,
      video: `${source.video.codec} ${source.video.width}x${source.video.height}`,
      audio: source.audio?.codec ?? null,
      rungs: plan.rungs.map((r) => `${r.width}x${r.height}`),
    });

    scratch = await mkdtemp(join(settings.workDir, "streambuddy-transcode-"));
    const outDir = scratch;
    const uploader = startUploader({
      dir: outDir,
      api,
      concurrency: settings.uploadConcurrency,
      maxPendingBytes: settings.maxPendingBytes,
      signal: jobAbort.signal,
      onBackpressure: (pause) => {
        log(pause ? "uploads behind; pausing ffmpeg" : "uploads caught up; resuming ffmpeg");
        pauseEncode(pause);
      },
      onFatal: (err) => {
        log("upload failed", { error: err.message });
        jobAbort.abort(err);
      },
    });

    let encodedSeconds = 0;
    let lastAdvanceAt = Date.now();
    let paused = false;
    // Set when the pipeline itself stops ffmpeg for a reason the uploader should hear.
    let stopReason: JobFailure | null = null;
    const stopWith = (failure: JobFailure) => {
      stopReason ??= failure;
      jobAbort.abort(failure);
    };
    const command = buildEncodeCommand(plan, {
      input: `${job.apiBase}/source`,
      inputOptions: httpInputOptions(job.token),
      outDir,
      x264Preset: settings.x264Preset,
    });
    ffmpeg = startFfmpeg(command, {
      onStart: (pid) => log("ffmpeg started", { pid, preset: settings.x264Preset }),
      onProgress: (fields) => {
        const us = Number(fields.out_time_us);
        if (Number.isFinite(us) && us / 1e6 > encodedSeconds) {
          encodedSeconds = us / 1e6;
          lastAdvanceAt = Date.now();
        }
        // The container's duration may be missing or wrong: the limit holds for what is encoded.
        if (encodedSeconds > job.maxDurationSeconds + 1) {
          stopWith(
            new JobFailure(
              "too_long",
              `The video is longer than the longest video accepted (${formatDuration(job.maxDurationSeconds)}).`,
            ),
          );
        }
        progress.update(source.duration ? (encodedSeconds / source.duration) * 100 : 0, "encoding");
      },
    });
    const running = ffmpeg;
    const onAbort = () => void running.stop();
    jobAbort.signal.addEventListener("abort", onAbort, { once: true });
    const watchdog = setInterval(() => {
      if (!paused && Date.now() - lastAdvanceAt > FFMPEG_STALL_MS) {
        stopWith(
          new JobFailure(
            "transcode_failed",
            `Encoding stopped making progress for ${FFMPEG_STALL_MS / 60_000} minutes.`,
          ),
        );
      }
    }, 5_000);
    pauseEncode = (pause) => {
      paused = pause;
      lastAdvanceAt = Date.now();
      if (pause) running.pause();
      else running.resume();
    };

    try {
      await ffmpeg.done;
    } catch (err) {
      if (stopReason) throw stopReason;
      if (uploader.failure) throw uploader.failure;
      if (ctx.signal.aborted) throw err;
      if (err instanceof FfmpegError) {
        const reason = ffmpegReason(err);
        log("ffmpeg failed", { error: err.message, reason });
        if (/Decoder \(codec .*\) not found|Invalid data found when processing input/.test(err.stderr)) {
          throw new JobFailure("unsupported", `The video could not be decoded (${reason}).`);
        }
        throw new JobFailure("transcode_failed", `Encoding failed (${reason}).`);
      }
      throw err;
    } finally {
      clearInterval(watchdog);
      jobAbort.signal.removeEventListener("abort", onAbort);
    }
    // ffmpeg may have finished on its own just as the job was being stopped.
    if (stopReason) throw stopReason;
    if (uploader.failure) throw uploader.failure;
    if (jobAbort.signal.aborted) throw jobAbort.signal.reason;

    progress.update(99, "uploading");
    await uploader.finish();
    const names = await readdir(outDir);
    if (!names.includes(MANIFEST_NAME) || uploader.uploaded.size === 0) {
      throw new JobFailure("unsupported", "No video frames could be decoded from the file.");
    }

    // Honest bandwidth: the measured peak of each Representation's segments.
    const mpdText = await readFile(join(outDir, MANIFEST_NAME), "utf8");
    const mpd = parseMpd(mpdText);
    const peaks = new Map<string, number>();
    for (const rep of mpd.representations) {
      const segments = rep.segments.map((s) => ({
        bytes: uploader.uploaded.get(mediaSegmentName(rep.id, s.number)) ?? 0,
        seconds: s.duration / rep.timescale,
      }));
      peaks.set(rep.id, peakBitrate(segments, SEGMENT_SECONDS));
    }
    const audioPeak = Math.max(
      0,
      ...mpd.representations.filter((r) => r.kind === "audio").map((r) => peaks.get(r.id) ?? 0),
    );
    const variantBandwidths = new Map(
      mpd.representations
        .filter((r) => r.kind === "video")
        .map((r) => [`media_${r.id}.m3u8`, (peaks.get(r.id) ?? 0) + audioPeak] as const),
    );

    if (names.includes(POSTER_NAME)) await uploader.uploadNow(POSTER_NAME);
    else log("no poster frame was written");
    for (const name of names.filter((n) => HLS_MEDIA_PLAYLIST_NAME.test(n)).sort()) {
      const text = await readFile(join(outDir, name), "utf8");
      await uploader.uploadNow(name, Buffer.from(finishHlsMediaPlaylist(text)));
    }
    if (names.includes(HLS_MASTER_NAME)) {
      const text = await readFile(join(outDir, HLS_MASTER_NAME), "utf8");
      await uploader.uploadNow(HLS_MASTER_NAME, Buffer.from(finishHlsMaster(text, variantBandwidths)));
    }
    // The MPD last: once it is stored, everything it points to is.
    await uploader.uploadNow(MANIFEST_NAME, Buffer.from(setMpdBandwidths(mpdText, peaks)));

    const renditions: EncodedRendition[] = mpd.representations.map((r) => ({
      id: r.id,
      kind: r.kind,
      width: r.kind === "video" ? r.width : null,
      height: r.kind === "video" ? r.height : null,
      bandwidth: peaks.get(r.id) ?? r.bandwidth,
      codecs: r.codecs,
    }));
    const shown = displaySize(source.video);
    const completed: JobEvent = {
      type: "completed",
      duration: Math.round((source.duration ?? encodedSeconds) * 1000) / 1000,
      width: Math.round(shown.width),
      height: Math.round(shown.height),
      renditions,
      files: [...uploader.uploaded.keys()],
      poster: uploader.uploaded.has(POSTER_NAME) ? POSTER_NAME : null,
    };
    await progress.stop();
    await api.postEvent(completed, { signal: ctx.signal });
    log("job completed", { files: completed.files.length, renditions: renditions.length });
    ctx.onStatus({ state: "completed", progress: 100, error: null });
  } catch (err) {
    await ffmpeg?.stop();
    await progress.stop();
    if (ctx.signal.aborted) {
      log("job cancelled; it will be retried elsewhere");
      ctx.onStatus({ state: "cancelled" });
      return;
    }
    await reportFailure(api, ctx, log, err);
  } finally {
    await progress.stop();
    ctx.signal.removeEventListener("abort", stopJob);
    // Ends whatever still belongs to the job: the uploader's scan, requests in flight.
    if (!jobAbort.signal.aborted) jobAbort.abort(new Error("the job is over"));
    if (scratch) await rm(scratch, { recursive: true, force: true });
  }
}
