/**
 * The probe phase: ffprobe reads the source over HTTP (Range requests; nothing is downloaded to
 * disk) and the source is either described for the encode or refused with a reason the uploader
 * understands (`not_video`, `unsupported`, `too_long`).
 */
import { SNIFF_BYTES, sniffContainer } from "../shared/sniff.ts";
import { httpInputOptions } from "./encode.ts";
import { JobFailure } from "./failure.ts";
import { FfmpegError, probeMedia } from "./ffmpeg.ts";
import type { SourceRef } from "./job-api.ts";
import { assessSource, explainProbeFailure, type SourceInfo } from "./source.ts";

export interface InspectOptions {
  /** Sources longer than this are refused as `too_long`. */
  maxDurationSeconds: number;
  /**
   * The source's first bytes (JobApiClient.readSourceHead): when ffprobe cannot open a file, they
   * tell a damaged video from a file that is not media at all.
   */
  readHead: (length: number, signal: AbortSignal) => Promise<Uint8Array>;
  signal: AbortSignal;
}

/**
 * What the source is, or a {@link JobFailure} saying why it cannot be transcoded. An abort
 * rejects with the signal's reason.
 */
export async function inspectSource(source: SourceRef, options: InspectOptions): Promise<SourceInfo> {
  const { signal } = options;
  let probe: Awaited<ReturnType<typeof probeMedia>>;
  try {
    probe = await probeMedia(source.url, httpInputOptions(source.token), signal);
  } catch (err) {
    if (signal.aborted) throw signal.reason;
    const stderr = err instanceof FfmpegError ? `${err.message}\n${err.stderr}` : String(err);
    let head: Uint8Array;
    try {
      head = await options.readHead(SNIFF_BYTES, signal);
    } catch (readErr) {
      if (signal.aborted) throw signal.reason;
      throw new JobFailure(
        "transcode_failed",
        `The source could not be read from the platform (${readErr instanceof Error ? readErr.message : String(readErr)}).`,
      );
    }
    if (head.byteLength === 0) throw new JobFailure("not_video", "The file is empty.");
    const verdict = explainProbeFailure(stderr, sniffContainer(head)?.label ?? null);
    throw new JobFailure(verdict.code, verdict.message);
  }
  const verdict = assessSource(probe, { maxDurationSeconds: options.maxDurationSeconds });
  if (!verdict.ok) throw new JobFailure(verdict.code, verdict.message);
  return verdict.source;
}
