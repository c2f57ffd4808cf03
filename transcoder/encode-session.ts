/**
 * The encode phase: one ffmpeg process run to its end under watch. Whatever the command encodes
 * (encode.ts decides that), the session
 *
 *  - reports how many seconds are encoded, from ffmpeg's `-progress` output;
 *  - pauses ffmpeg (SIGSTOP) while the uploads are behind, and resumes it when they catch up;
 *  - stops it as `too_long` once the encode passes the longest video accepted (a container's
 *    duration may be missing or wrong: the limit holds for what is encoded);
 *  - stops it as `transcode_failed` when its output stops advancing (a stall watchdog that
 *    waits while ffmpeg is paused);
 *  - turns ffmpeg's own failures into a code: `unsupported` for input it cannot decode,
 *    `transcode_failed` otherwise, with ffmpeg's last meaningful line.
 *
 * ffmpeg has exited by the time the session settles, however it ends.
 */
import { JobFailure } from "./failure.ts";
import { type FfmpegCommandSpec, FfmpegError, startFfmpeg } from "./ffmpeg.ts";
import { formatDuration } from "./source.ts";

/** ffmpeg is stopped (and the job failed) when its output stops advancing for this long. */
export const FFMPEG_STALL_MS = 5 * 60_000;

/** Whatever stores the outputs and can fall behind (the Uploader). */
export interface BackpressureSource {
  /** Calls `listener(true)` when ffmpeg should wait, `(false)` when it may go on; returns an unsubscribe. */
  watchBackpressure(listener: (paused: boolean) => void): () => void;
}

export interface EncodeSessionOptions {
  /** The ffmpeg run, with `-progress pipe:1` among its global options. */
  command: FfmpegCommandSpec;
  /** Past this many encoded seconds (plus one, for rounding) the encode is stopped as `too_long`. */
  maxDurationSeconds: number;
  backpressure?: BackpressureSource;
  /** Each block of ffmpeg's progress, with the seconds encoded so far (never decreasing). */
  onProgress?: (encodedSeconds: number) => void;
  /** Aborting stops ffmpeg; the session then rejects with the signal's reason. */
  signal: AbortSignal;
  log: (msg: string, fields?: Record<string, unknown>) => void;
  /** Defaults to {@link FFMPEG_STALL_MS}. */
  stallMs?: number;
}

export interface EncodeSessionResult {
  /** Seconds of output ffmpeg reported last: the measured duration. */
  encodedSeconds: number;
}

/** The last meaningful line ffmpeg printed, for a failure message. */
function ffmpegReason(err: FfmpegError): string {
  const lines = err.stderr
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !/^(Conversion failed|Exiting normally)/.test(l));
  return (lines.at(-1) ?? err.message).slice(0, 300);
}

/** The failure an ffmpeg exit stands for: input it cannot decode is `unsupported`. */
export function ffmpegFailure(err: FfmpegError): JobFailure {
  const reason = ffmpegReason(err);
  if (/Decoder \(codec .*\) not found|Invalid data found when processing input/.test(err.stderr)) {
    return new JobFailure("unsupported", `The video could not be decoded (${reason}).`);
  }
  return new JobFailure("transcode_failed", `Encoding failed (${reason}).`);
}

/** Runs the command to its end: resolves when ffmpeg succeeded, rejects with a JobFailure or the abort reason. */
export async function runEncodeSession(options: EncodeSessionOptions): Promise<EncodeSessionResult> {
  const { signal, log } = options;
  const stallMs = options.stallMs ?? FFMPEG_STALL_MS;
  if (signal.aborted) throw signal.reason;
  // The session's own reasons to stop ffmpeg, kept apart from the caller's abort.
  const stop = new AbortController();
  const stopped = AbortSignal.any([signal, stop.signal]);
  let stopReason: JobFailure | null = null;
  const stopWith = (failure: JobFailure) => {
    stopReason ??= failure;
    stop.abort(failure);
  };

  let encodedSeconds = 0;
  let lastAdvanceAt = Date.now();
  let paused = false;
  const ffmpeg = startFfmpeg(options.command, {
    onStart: (pid) => log("ffmpeg started", { pid }),
    onProgress: (fields) => {
      const us = Number(fields.out_time_us);
      if (Number.isFinite(us) && us / 1e6 > encodedSeconds) {
        encodedSeconds = us / 1e6;
        lastAdvanceAt = Date.now();
      }
      if (encodedSeconds > options.maxDurationSeconds + 1) {
        stopWith(
          new JobFailure(
            "too_long",
            `The video is longer than the longest video accepted (${formatDuration(options.maxDurationSeconds)}).`,
          ),
        );
      }
      options.onProgress?.(encodedSeconds);
    },
  });
  const onStop = () => void ffmpeg.stop();
  stopped.addEventListener("abort", onStop, { once: true });
  const watchdog = setInterval(
    () => {
      if (!paused && Date.now() - lastAdvanceAt > stallMs) {
        stopWith(
          new JobFailure("transcode_failed", `Encoding stopped making progress for ${formatDuration(stallMs / 1000)}.`),
        );
      }
    },
    Math.min(5_000, stallMs / 5),
  );
  const unwatch = options.backpressure?.watchBackpressure((pause) => {
    log(pause ? "ffmpeg paused while uploads catch up" : "ffmpeg resumed");
    paused = pause;
    // Time paused is not time stalled.
    lastAdvanceAt = Date.now();
    if (pause) ffmpeg.pause();
    else ffmpeg.resume();
  });

  try {
    await ffmpeg.done;
  } catch (err) {
    if (stopReason) throw stopReason;
    if (signal.aborted) throw signal.reason;
    if (err instanceof FfmpegError) {
      log("ffmpeg failed", { error: err.message, reason: ffmpegReason(err) });
      throw ffmpegFailure(err);
    }
    throw err;
  } finally {
    clearInterval(watchdog);
    unwatch?.();
    stopped.removeEventListener("abort", onStop);
    // Whatever ended the session, ffmpeg is gone before it settles.
    await ffmpeg.stop();
  }
  // ffmpeg may have finished on its own just as it was being stopped.
  if (stopReason) throw stopReason;
  if (signal.aborted) throw signal.reason;
  return { encodedSeconds };
}
