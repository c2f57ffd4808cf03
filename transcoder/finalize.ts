/**
 * The finalize phase: once every segment is stored, the manifests get honest bandwidths (the
 * measured peak of each Representation's segments), the HLS playlists become VOD, and they are
 * stored after the poster, the MPD last: once it is stored, everything it points to is.
 *
 * {@link finishManifests} needs only the manifests' text and the sizes of the stored files,
 * whoever stored them (this process's uploads, or a listing of the stored objects);
 * {@link finalizeOutputs} is the case of one encode: the manifests and the poster come from its
 * scratch directory and the sizes from its uploader.
 */
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import type { EncodedRendition, Storyboard } from "../shared/protocol.ts";
import {
  HLS_MASTER_NAME,
  HLS_MEDIA_PLAYLIST_NAME,
  initSegmentName,
  MANIFEST_NAME,
  mediaSegmentName,
  POSTER_NAME,
  SEGMENT_SECONDS,
} from "./encode.ts";
import { JobFailure } from "./failure.ts";
import { finishHlsMaster, finishHlsMediaPlaylist, parseMpd, peakBitrate, setMpdBandwidths } from "./manifest.ts";
import {
  makeSheets,
  STORYBOARD_SHEET_NAME,
  STORYBOARD_VTT_NAME,
  type StoryboardPlan,
  storyboardVtt,
  THUMBNAIL_NAME,
} from "./storyboard.ts";
import type { Uploader } from "./uploader.ts";

/** The manifests as ffmpeg's dash muxer wrote them. */
export interface ManifestTexts {
  mpd: string;
  hlsMaster: string | null;
  /** HLS media playlists by name (`media_0.m3u8`, …). */
  hlsMedia: ReadonlyMap<string, string>;
}

export interface FinishedManifests {
  /** The files to store, in the order to store them: the HLS media playlists, the master, the MPD last. */
  files: { name: string; body: string }[];
  /** Every Representation, with its measured peak as its bandwidth. */
  renditions: EncodedRendition[];
}

/** Names listed in at most this many are spelled out in a failure message. */
const NAMED_MISSING = 5;

/**
 * The finished manifests for segments of the given sizes (file name → bytes). Every segment the
 * MPD lists must be there: a manifest pointing at files that were never stored is not published.
 */
export function finishManifests(texts: ManifestTexts, sizes: ReadonlyMap<string, number>): FinishedManifests {
  const mpd = parseMpd(texts.mpd);
  const missing = mpd.representations
    .flatMap((rep) => [initSegmentName(rep.id), ...rep.segments.map((s) => mediaSegmentName(rep.id, s.number))])
    .filter((name) => !sizes.has(name));
  if (missing.length > 0) {
    const more = missing.length > NAMED_MISSING ? ` and ${missing.length - NAMED_MISSING} more` : "";
    throw new JobFailure(
      "transcode_failed",
      `The manifest lists segments that were not stored: ${missing.slice(0, NAMED_MISSING).join(", ")}${more}.`,
    );
  }

  const peaks = new Map<string, number>();
  for (const rep of mpd.representations) {
    const segments = rep.segments.map((s) => ({
      bytes: sizes.get(mediaSegmentName(rep.id, s.number)) as number,
      seconds: s.duration / rep.timescale,
    }));
    peaks.set(rep.id, peakBitrate(segments, SEGMENT_SECONDS));
  }
  const audioPeak = Math.max(
    0,
    ...mpd.representations.filter((r) => r.kind === "audio").map((r) => peaks.get(r.id) as number),
  );
  const variantBandwidths = new Map(
    mpd.representations
      .filter((r) => r.kind === "video")
      .map((r) => [`media_${r.id}.m3u8`, (peaks.get(r.id) as number) + audioPeak] as const),
  );

  const files: FinishedManifests["files"] = [...texts.hlsMedia.keys()]
    .sort()
    .map((name) => ({ name, body: finishHlsMediaPlaylist(texts.hlsMedia.get(name) as string) }));
  if (texts.hlsMaster !== null) {
    files.push({ name: HLS_MASTER_NAME, body: finishHlsMaster(texts.hlsMaster, variantBandwidths) });
  }
  files.push({ name: MANIFEST_NAME, body: setMpdBandwidths(texts.mpd, peaks) });

  const renditions: EncodedRendition[] = mpd.representations.map((r) => ({
    id: r.id,
    kind: r.kind,
    width: r.kind === "video" ? r.width : null,
    height: r.kind === "video" ? r.height : null,
    bandwidth: peaks.get(r.id) as number,
    codecs: r.codecs,
  }));
  return { files, renditions };
}

/** The manifests ffmpeg wrote into `dir`, or null when it wrote no MPD. */
export async function readManifests(dir: string): Promise<ManifestTexts | null> {
  const names = await readdir(dir);
  if (!names.includes(MANIFEST_NAME)) return null;
  const read = (name: string) => readFile(join(dir, name), "utf8");
  const hlsMedia = new Map<string, string>();
  for (const name of names.filter((n) => HLS_MEDIA_PLAYLIST_NAME.test(n))) hlsMedia.set(name, await read(name));
  return {
    mpd: await read(MANIFEST_NAME),
    hlsMaster: names.includes(HLS_MASTER_NAME) ? await read(HLS_MASTER_NAME) : null,
    hlsMedia,
  };
}

export interface FinalizeOptions {
  /** The encode's scratch directory, after ffmpeg has exited. */
  dir: string;
  /** Has stored every segment (`finish()` is done); stores the poster and the manifests. */
  uploader: Pick<Uploader, "uploaded" | "uploadNow">;
  log: (msg: string, fields?: Record<string, unknown>) => void;
  /** The storyboard the encode was asked to write, its images stored `concurrency` at a time. */
  storyboard?: { plan: StoryboardPlan; duration: number; concurrency: number };
}

export interface FinalizedOutputs {
  renditions: EncodedRendition[];
  /** The poster's name, when one was written and stored. */
  poster: string | null;
  /** The storyboard's layout, when its sheets were written and stored. */
  storyboard?: Storyboard;
}

/** Stores the poster and the finished manifests of one encode, the MPD last. */
export async function finalizeOutputs(options: FinalizeOptions): Promise<FinalizedOutputs> {
  const { dir, uploader } = options;
  const texts = await readManifests(dir);
  if (!texts || uploader.uploaded.size === 0) {
    throw new JobFailure("unsupported", "No video frames could be decoded from the file.");
  }
  const finished = finishManifests(texts, uploader.uploaded);
  const hasPoster = await stat(join(dir, POSTER_NAME)).then(
    () => true,
    () => false,
  );
  if (hasPoster) await uploader.uploadNow(POSTER_NAME);
  else options.log("no poster frame was written");
  const storyboard = options.storyboard && (await storeStoryboard(dir, uploader, options.storyboard));
  for (const file of finished.files) await uploader.uploadNow(file.name, Buffer.from(file.body));
  return {
    renditions: finished.renditions,
    poster: uploader.uploaded.has(POSTER_NAME) ? POSTER_NAME : null,
    ...(storyboard ? { storyboard } : {}),
  };
}

/**
 * Tiles the storyboard's frames into sheets, stores the sheets and thumbnails (a few at a time)
 * and its index; returns the
 * layout the `completed` event announces, or undefined when ffmpeg wrote no sheet.
 */
async function storeStoryboard(
  dir: string,
  uploader: Pick<Uploader, "uploadNow">,
  options: NonNullable<FinalizeOptions["storyboard"]>,
): Promise<Storyboard | undefined> {
  const { plan, duration, concurrency } = options;
  await makeSheets(plan, dir);
  const images = (await readdir(dir)).filter((n) => STORYBOARD_SHEET_NAME.test(n) || THUMBNAIL_NAME.test(n));
  if (!images.some((n) => STORYBOARD_SHEET_NAME.test(n))) return undefined;
  const waiting = [...images];
  const worker = async () => {
    for (let name = waiting.shift(); name !== undefined; name = waiting.shift()) await uploader.uploadNow(name);
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
  const parts = [plan.firstFrame];
  await uploader.uploadNow(STORYBOARD_VTT_NAME, Buffer.from(storyboardVtt(plan, duration, parts)));
  const { interval, tileWidth, tileHeight, columns, rows, thumbnails } = plan;
  return { interval, tileWidth, tileHeight, columns, rows, thumbnails, parts };
}
