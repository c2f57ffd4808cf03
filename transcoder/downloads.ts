/**
 * Downloads made from the stored segments without re-encoding, at finalize: one standard MP4
 * per offered rung (its video and the audio, `moov` first so it plays while it downloads) and
 * the audio alone as M4A. ffmpeg copies the packets (`-c copy`) from each Representation read
 * as one fragmented MP4 (its init segment followed by its media segments, in order), so the
 * cost is reading and writing the bytes once, not decoding.
 *
 *   downloadFileName(height)                 "download-<height>p.mp4"
 *   AUDIO_DOWNLOAD_NAME                      "download-audio.m4a" (needs `m4a` in OUTPUT_FILE_NAME)
 *   representationParts(files, id)           the init and media segment names of a
 *                                            Representation, in playback order
 *   buildDownloadCommand(video, audio, out)  ffmpeg arguments for a rung with its audio
 *   buildAudioDownloadCommand(audio, out)    ffmpeg arguments for the audio alone
 *
 * An input is a path or URL with its input options, so the finalize step can read each
 * Representation as one stream (a local file joined from the segments, or a URL that serves
 * them joined) and needs scratch space only for the output, which `+faststart` rewrites in place.
 */
import { INIT_SEGMENT_NAME, MEDIA_SEGMENT_NAME } from "./encode.ts";

export const AUDIO_DOWNLOAD_NAME = "download-audio.m4a";
export const downloadFileName = (height: number) => `download-${height}p.mp4`;
/** A download file, as the Worker's routes look them up. */
export const DOWNLOAD_FILE_NAME = /^download-(?:(\d+)p\.mp4|audio\.m4a)$/;

export interface DownloadInput {
  source: string;
  options?: string[];
}

/** The init segment and media segments (numbered order) of Representation `id` among `files`. */
export function representationParts(files: readonly string[], id: string): string[] {
  const init = files.find((f) => INIT_SEGMENT_NAME.exec(f)?.[1] === id);
  if (!init) throw new Error(`no init segment for Representation ${id}`);
  const media = files
    .map((f) => ({ f, m: MEDIA_SEGMENT_NAME.exec(f) }))
    .filter((x) => x.m?.[1] === id)
    .sort((a, b) => Number(a.m?.[2]) - Number(b.m?.[2]))
    .map((x) => x.f);
  if (media.length === 0) throw new Error(`no media segments for Representation ${id}`);
  return [init, ...media];
}

// -copyts keeps each input's own timeline: without it ffmpeg shifts the audio input by its AAC
// priming (its start is -1024 samples), and the copy would play 21 ms late.
const GLOBAL = ["-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-copyts"];
/** Standard MP4 with the index first, no source metadata, no re-encoding. */
const COPY_MP4 = ["-c", "copy", "-map_metadata", "-1", "-map_chapters", "-1", "-movflags", "+faststart"];

const inputArgs = (input: DownloadInput) => [...(input.options ?? []), "-i", input.source];

/** ffmpeg arguments: the rung's video and (when there is audio) the audio, copied into one MP4. */
export function buildDownloadCommand(video: DownloadInput, audio: DownloadInput | null, output: string): string[] {
  return [
    ...GLOBAL,
    ...inputArgs(video),
    ...(audio ? inputArgs(audio) : []),
    "-map",
    "0:v:0",
    ...(audio ? ["-map", "1:a:0"] : []),
    ...COPY_MP4,
    "-f",
    "mp4",
    output,
  ];
}

/** ffmpeg arguments: the audio Representation copied into an M4A file. */
export function buildAudioDownloadCommand(audio: DownloadInput, output: string): string[] {
  return [...GLOBAL, ...inputArgs(audio), "-map", "0:a:0", ...COPY_MP4, "-f", "ipod", output];
}
