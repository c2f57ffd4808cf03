/**
 * Storyboards (seek-bar previews) and thumbnails by time, taken from the encode's own decode:
 * extra filter-graph branches and outputs added to the encode command, so no second decode.
 * Pure functions, but makeSheets.
 *
 * The encode writes the storyboard's frames one by one (small BMPs, `sbframe-<k>.bmp`), and the
 * sheets are tiled from them once it is done. Tiling in the encode itself would hold back its
 * progress: ffmpeg reports none until every output has written its first picture, and a sheet is
 * written only once its 100 frames are in (200 s of video and more), so a long encode would show
 * no progress for minutes and look stalled.
 *
 *   storyboardInterval(duration)            seconds between frames (2 s for short videos)
 *   planStoryboard(plan, duration, range?)  intervals, tile and thumbnail sizes, first frame
 *   withStoryboard(spec, storyboard, outDir) the encode command with the storyboard outputs added
 *   sheetCommand(storyboard, dir)           ffmpeg arguments that tile the encode's frames into sheets
 *   makeSheets(storyboard, dir)             runs it, then removes the frames
 *   storyboardVtt, thumbnailFrameAt, names  the index and lookups, from shared/storyboard-index.ts
 *                                            (re-exported here; the Worker imports them there)
 *
 * Frames are numbered by global time: frame k shows the picture at k × interval seconds (the
 * `fps` filter's grid). Storyboard frame k sits in sheet floor(k / 100) at cell k mod 100
 * (10 × 10 tiles, row by row). A chunk encoding [t0, t1) makes exactly the frames k with
 * k × interval in [t0, t1): its `fps` grid starts at the first grid time at or after t0 and its
 * sheets start with `init_padding` empty cells, so every frame lands in its global cell. A sheet
 * that two chunks share is then stored as two files (one per chunk, `storyboard-<s>-<k0>.jpg`),
 * each holding that chunk's cells; the index points each cue at the file that holds its frame.
 *
 * Output names (flat, matching OUTPUT_FILE_NAME):
 *   storyboard-<sheet>.jpg                 sheets of a whole-video encode
 *   storyboard-<sheet>-<firstFrame>.jpg    sheets of a chunk starting at frame <firstFrame> > 0
 *   thumb-<width>-<frame>.jpg              one JPEG per thumbnail frame and stored width
 *   storyboard.vtt                         the index
 * and, in the scratch directory only, `sbframe-<frame>.bmp` until the sheets are made.
 */
import { readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { framesPerSheet, type StoryboardLayout } from "../shared/storyboard-index.ts";
import type { EncodePlan } from "./encode.ts";
import { type FfmpegCommandSpec, runFfmpegArgs } from "./ffmpeg.ts";

export {
  STORYBOARD_SHEET_NAME,
  STORYBOARD_VTT_NAME,
  storyboardSheetName,
  storyboardVtt,
  THUMBNAIL_NAME,
  thumbnailFrameAt,
  thumbnailName,
} from "../shared/storyboard-index.ts";

export const STORYBOARD_TILE_WIDTH = 160;
export const STORYBOARD_COLUMNS = 10;
export const STORYBOARD_ROWS = 10;
/** At most this many storyboard frames (10 sheets): longer videos get a longer interval. */
export const STORYBOARD_MAX_FRAMES = 1000;
/** Stored thumbnail widths, never above the top rung's width. */
export const THUMBNAIL_WIDTHS = [320, 640] as const;
/** At most this many thumbnail frames per width. */
export const THUMBNAIL_MAX_FRAMES = 600;
export interface StoryboardPlan extends StoryboardLayout {
  /** Where this encode's frames start: index of its first storyboard and thumbnail frame. */
  firstFrame: number;
  firstThumbnail: number;
  /** Seconds into the source of the first grid point this encode covers. */
  startTime: number;
  thumbnailStartTime: number;
}

const roundEven = (n: number) => Math.max(2, Math.round(n / 2) * 2);

/**
 * Every 2 s up to 10 minutes, 4 s up to 30, then 5 s, and longer once that would pass the frame
 * cap. Whole seconds, so frame times stay exact.
 */
export function storyboardInterval(duration: number, maxFrames = STORYBOARD_MAX_FRAMES): number {
  const base = duration <= 600 ? 2 : duration <= 1800 ? 4 : 5;
  return Math.max(base, Math.ceil(duration / maxFrames));
}

/**
 * The storyboard of an encode of `duration` seconds; `range` is the part this encode covers
 * (a chunk), by default all of it.
 */
export function planStoryboard(
  plan: EncodePlan,
  duration: number,
  range: { start: number; end: number } = { start: 0, end: duration },
): StoryboardPlan {
  const top = plan.rungs[0];
  if (!top) throw new Error("the plan has no rungs");
  const interval = storyboardInterval(duration);
  const thumbnailInterval = Math.max(interval, Math.ceil(duration / THUMBNAIL_MAX_FRAMES));
  const widths = THUMBNAIL_WIDTHS.filter((w) => w <= top.width);
  const sizes = (widths.length > 0 ? widths : [top.width]).map((width) => ({
    width,
    height: roundEven((width * top.height) / top.width),
  }));
  // max(0, …) keeps -0 out of the numbers (ceil of a tiny negative).
  const firstFrame = Math.max(0, Math.ceil(range.start / interval - 1e-9));
  const firstThumbnail = Math.max(0, Math.ceil(range.start / thumbnailInterval - 1e-9));
  return {
    interval,
    tileWidth: STORYBOARD_TILE_WIDTH,
    tileHeight: roundEven((STORYBOARD_TILE_WIDTH * top.height) / top.width),
    columns: STORYBOARD_COLUMNS,
    rows: STORYBOARD_ROWS,
    thumbnails: { interval: thumbnailInterval, sizes },
    firstFrame,
    firstThumbnail,
    startTime: firstFrame * interval,
    thumbnailStartTime: firstThumbnail * thumbnailInterval,
  };
}

/**
 * The encode command with the storyboard's branches: the first `split` of the graph gets two
 * more outputs, one for the storyboard's frames (`fps`, `scale`; {@link makeSheets} tiles them)
 * and one for the thumbnails (`fps`, then one `scale` per stored width), each written by the
 * image2 muxer with global numbering.
 * `round=up` makes grid slot k hold the last frame at or before k × interval (the frame shown
 * at that time), where the default would hold the last one before the next slot.
 */
export function withStoryboard(spec: FfmpegCommandSpec, sb: StoryboardPlan, outDir: string): FfmpegCommandSpec {
  const split = /split=(\d+)((?:\[[^\]]+\])+)/.exec(spec.filterGraph);
  if (!split) throw new Error("the encode graph has no split to branch from");
  const count = Number(split[1]);
  const widened = spec.filterGraph.replace(split[0], `split=${count + 2}${split[2]}[sbin][thin]`);
  const sizes = sb.thumbnails.sizes;
  const chains = [
    `[sbin]fps=fps=1/${sb.interval}:start_time=${sb.startTime}:round=up,` +
      `scale=${sb.tileWidth}:${sb.tileHeight}:flags=bicubic,setsar=1[sb]`,
    `[thin]fps=fps=1/${sb.thumbnails.interval}:start_time=${sb.thumbnailStartTime}:round=up,` +
      `split=${sizes.length}${sizes.map((_, i) => `[tw${i}]`).join("")}`,
    ...sizes.map((s, i) => `[tw${i}]scale=${s.width}:${s.height}:flags=bicubic,setsar=1[th${i}]`),
  ];
  const image = (label: string, start: number, quality: number) => [
    "-map",
    `[${label}]`,
    "-q:v",
    String(quality),
    "-f",
    "image2",
    "-start_number",
    String(start),
  ];
  return {
    ...spec,
    filterGraph: [widened, ...chains].join(";"),
    outputs: [
      ...spec.outputs,
      // Uncompressed, so tiling them later loses nothing (160 × 90 × 3 bytes each, at most 1000).
      { target: join(outDir, FRAME_PATTERN), options: [...image("sb", sb.firstFrame, 1), "-c:v", "bmp"] },
      ...sizes.map((s, i) => ({
        target: join(outDir, `thumb-${s.width}-%d.jpg`),
        options: image(`th${i}`, sb.firstThumbnail, 3),
      })),
    ],
  };
}

/** The storyboard frames an encode writes into its scratch directory, before they are tiled. */
const FRAME_PATTERN = "sbframe-%d.bmp";
const FRAME_NAME = /^sbframe-\d+\.bmp$/;

/**
 * ffmpeg arguments that tile the frames of this encode (`sbframe-<k>.bmp` from its first frame
 * on, in `dir`) into its sheets: frame k in sheet floor(k / 100), cell k mod 100, so a chunk's
 * sheet starts with the empty cells of the frames before it.
 */
export function sheetCommand(sb: StoryboardPlan, dir: string): string[] {
  const perSheet = framesPerSheet(sb);
  const sheetPattern = sb.firstFrame === 0 ? "storyboard-%d.jpg" : `storyboard-%d-${sb.firstFrame}.jpg`;
  return [
    ...["-hide_banner", "-nostdin", "-loglevel", "error", "-y"],
    ...["-f", "image2", "-framerate", "1", "-start_number", String(sb.firstFrame), "-i", join(dir, FRAME_PATTERN)],
    ...["-vf", `tile=${sb.columns}x${sb.rows}:init_padding=${sb.firstFrame % perSheet}`],
    ...["-q:v", "5", "-f", "image2", "-start_number", String(Math.floor(sb.firstFrame / perSheet))],
    join(dir, sheetPattern),
  ];
}

/** Tiles the encode's frames in `dir` into its sheets and removes the frames; nothing when it wrote none. */
export async function makeSheets(sb: StoryboardPlan, dir: string, signal?: AbortSignal): Promise<void> {
  const frames = (await readdir(dir)).filter((n) => FRAME_NAME.test(n));
  if (frames.length === 0) return;
  try {
    await runFfmpegArgs(sheetCommand(sb, dir), signal);
  } finally {
    await Promise.all(frames.map((n) => rm(join(dir, n), { force: true })));
  }
}
