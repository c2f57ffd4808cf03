/**
 * Downloads made from the stored segments without re-encoding, at finalize: one standard MP4
 * per rung (its video and the audio, `moov` first so it plays while it downloads) and the audio
 * alone as M4A. ffmpeg copies the packets (`-c copy`) from each Representation read as one
 * fragmented MP4 (its init segment followed by its media segments, in order), so the cost is
 * reading and writing the bytes once, not decoding.
 *
 *   downloadFileName(height)                 "download-<height>p.mp4"
 *   AUDIO_DOWNLOAD_NAME                      "download-audio.m4a"
 *                                            (both from shared/download-names.ts, re-exported here;
 *                                            the Worker imports them there)
 *   representationParts(files, id)           the init and media segment names of a
 *                                            Representation, in playback order
 *   buildDownloadCommand(video, audio, out)  ffmpeg arguments for a rung with its audio
 *   buildAudioDownloadCommand(audio, out)    ffmpeg arguments for the audio alone
 *   makeDownloads(options)                   makes and stores them all, from the stored segments
 *
 * The segments are read back from storage through the unit's API (GET files/{name}), whoever
 * stored them: this encode's uploader (which deleted each once stored) or, for an encode in
 * parts, other runners. A local HTTP server joins a Representation's parts into one stream for
 * ffmpeg, so nothing is held whole and scratch space is needed only for the one output being
 * made, which `+faststart` rewrites in place, then streams to storage and deletes.
 */
import { rm } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { AUDIO_DOWNLOAD_NAME, downloadFileName } from "../shared/download-names.ts";
import type { EncodedRendition } from "../shared/protocol.ts";
import { INIT_SEGMENT_NAME, MEDIA_SEGMENT_NAME } from "./encode.ts";
import { FfmpegError, runFfmpegArgs } from "./ffmpeg.ts";

export { AUDIO_DOWNLOAD_NAME, DOWNLOAD_FILE_NAME, downloadFileName } from "../shared/download-names.ts";

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

/** What making downloads needs of the unit's API. */
export interface StoredFiles {
  openFile(name: string, signal?: AbortSignal): Promise<ReadableStream<Uint8Array>>;
  putFileFrom(name: string, path: string, signal?: AbortSignal): Promise<void>;
}

/**
 * Serves Representation `id` at `/<id>` on 127.0.0.1 as one stream: its init segment, then its
 * media segments in order, each read from storage as the previous one is sent. A part that cannot
 * be read cuts the stream short of its announced length and is remembered: ffmpeg may still
 * write a (shorter) file from what it got, which is then thrown away.
 */
async function serveJoined(files: ReadonlyMap<string, number>, store: StoredFiles, signal: AbortSignal) {
  // Parts that could not be read since the last look: whatever ffmpeg made of a stream cut
  // short is not a download.
  const unread: string[] = [];
  const server = createServer((req, res) => {
    const id = decodeURIComponent((req.url ?? "/").slice(1));
    let parts: string[];
    try {
      parts = representationParts([...files.keys()], id);
    } catch {
      res.writeHead(404).end();
      return;
    }
    // The length up front: a stream cut short is then an error to ffmpeg, not a shorter file.
    const length = parts.reduce((sum, name) => sum + (files.get(name) ?? 0), 0);
    res.writeHead(200, { "content-type": "video/mp4", "content-length": String(length) });
    // One pipeline for the whole stream: back-pressure from ffmpeg reaches the reads, and a part
    // that fails (or ffmpeg hanging up) ends it all.
    async function* joined() {
      for (const name of parts) {
        try {
          yield* Readable.fromWeb((await store.openFile(name, signal)) as never);
        } catch (err) {
          unread.push(`${name} (${err instanceof Error ? err.message : String(err)})`);
          throw err;
        }
      }
    }
    pipeline(Readable.from(joined()), res).catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (id: string) => `http://127.0.0.1:${port}/${encodeURIComponent(id)}`,
    /** The parts that could not be read since the last call. */
    takeUnread: () => unread.splice(0),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface MakeDownloadsOptions {
  /** Every file the encode stored, with its size in bytes (the segments among them). */
  files: ReadonlyMap<string, number>;
  /** The encode's Representations: an MP4 is made per video rung, the M4A from the audio. */
  renditions: readonly EncodedRendition[];
  /** Scratch directory for the output being made. */
  dir: string;
  store: StoredFiles;
  signal: AbortSignal;
  log: (msg: string, fields?: Record<string, unknown>) => void;
  /** Called before each download is made, with how many are done and how many there are. */
  onStep?: (done: number, total: number) => void;
}

/**
 * Makes and stores the downloads, largest rung first; resolves to the names stored. A download
 * that cannot be made or stored (say, larger than the platform takes as one file) is logged and
 * left out: the video plays without it, and the Worker offers only the files that exist.
 */
export async function makeDownloads(options: MakeDownloadsOptions): Promise<string[]> {
  const { dir, signal, log } = options;
  const audio = options.renditions.find((r) => r.kind === "audio") ?? null;
  const videos = options.renditions
    .filter((r) => r.kind === "video" && r.height !== null)
    .sort((a, b) => (b.height ?? 0) - (a.height ?? 0));
  const server = await serveJoined(options.files, options.store, signal);
  const input = (id: string) => ({ source: server.url(id), options: ["-seekable", "0"] });
  const steps = [
    ...videos.map((v) => ({
      name: downloadFileName(v.height as number),
      args: (out: string) => buildDownloadCommand(input(v.id), audio && input(audio.id), out),
    })),
    ...(audio
      ? [{ name: AUDIO_DOWNLOAD_NAME, args: (out: string) => buildAudioDownloadCommand(input(audio.id), out) }]
      : []),
  ];
  const stored: string[] = [];
  try {
    for (const [i, step] of steps.entries()) {
      options.onStep?.(i, steps.length);
      const out = join(dir, step.name);
      try {
        server.takeUnread();
        await runFfmpegArgs(step.args(out), signal);
        const unread = server.takeUnread();
        if (unread.length > 0) throw new Error(`could not read ${unread.join(", ")}`);
        await options.store.putFileFrom(step.name, out, signal);
        stored.push(step.name);
      } catch (err) {
        if (signal.aborted) throw signal.reason;
        const reason = err instanceof FfmpegError ? err.stderr.trim().split("\n").at(-1) || err.message : String(err);
        log("download not made", { name: step.name, error: err instanceof Error ? err.message : String(err), reason });
      } finally {
        await rm(out, { force: true });
      }
    }
  } finally {
    await server.close();
  }
  return stored;
}
