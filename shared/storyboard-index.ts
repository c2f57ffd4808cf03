/**
 * The storyboard's layout and names, shared by the transcoder (which writes the files) and the
 * Worker (which serves `storyboard.vtt` and `thumbnail.jpg?time=S`). Erasable TypeScript, no
 * imports: pure functions.
 *
 *   storyboardSheetName(sheet, firstFrame)   the file of a sheet
 *   thumbnailName(width, frame)              the file of a thumbnail frame
 *   storyboardVtt(layout, duration, parts?, imagePrefix?)
 *                                            the WebVTT index (Mux's storyboard.vtt shape: cues
 *                                            whose text is `storyboard-0.jpg#xywh=x,y,w,h`)
 *   thumbnailFrameAt(layout, time, duration, width?) the stored thumbnail nearest a time
 *
 * Frame k shows the picture at k × interval seconds; storyboard frame k sits in sheet
 * floor(k / (columns × rows)) at cell k mod (columns × rows), row by row. A sheet made by an
 * encode that starts at frame k0 > 0 (a chunk) is `storyboard-<sheet>-<k0>.jpg`.
 */

export interface StoryboardLayout {
  /** Seconds between storyboard frames. */
  interval: number;
  tileWidth: number;
  tileHeight: number;
  columns: number;
  rows: number;
  thumbnails: { interval: number; sizes: { width: number; height: number }[] };
}

export const STORYBOARD_VTT_NAME = "storyboard.vtt";

/** A thumbnail JPEG: its width, then its frame index. */
export const THUMBNAIL_NAME = /^thumb-(\d+)-(\d+)\.jpg$/;
export const STORYBOARD_SHEET_NAME = /^storyboard-(\d+)(?:-(\d+))?\.jpg$/;

/** Tiles in one sheet. */
export const framesPerSheet = (sb: Pick<StoryboardLayout, "columns" | "rows">) => sb.columns * sb.rows;

/** The file of a storyboard sheet, as the encode starting at `firstFrame` names it. */
export function storyboardSheetName(sheet: number, firstFrame = 0): string {
  return firstFrame === 0 ? `storyboard-${sheet}.jpg` : `storyboard-${sheet}-${firstFrame}.jpg`;
}

export const thumbnailName = (width: number, frame: number) => `thumb-${width}-${frame}.jpg`;

const cueTime = (seconds: number) => {
  const ms = Math.round(seconds * 1000);
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor(ms / 60_000) % 60;
  const s = Math.floor(ms / 1000) % 60;
  const pad = (n: number, w = 2) => String(n).padStart(w, "0");
  return `${pad(h)}:${pad(m)}:${pad(s)}.${pad(ms % 1000, 3)}`;
};

/**
 * The WebVTT index of a storyboard: one cue per frame, from its time to the next frame's (the
 * last one to the end), pointing at its tile. `parts` lists the first frame of each encode that
 * made sheets (chunks), so each cue names the file holding its frame; one whole-video encode
 * is `[0]`. Image URLs are relative, so the index works under signed playback paths too;
 * `imagePrefix` puts them in a folder (the Worker points them at the version's own).
 */
export function storyboardVtt(
  sb: Pick<StoryboardLayout, "interval" | "tileWidth" | "tileHeight" | "columns" | "rows">,
  duration: number,
  parts: readonly number[] = [0],
  imagePrefix = "",
): string {
  const frames = Math.max(1, Math.ceil(duration / sb.interval - 1e-9));
  const starts = [...parts].sort((a, b) => a - b);
  const perSheet = framesPerSheet(sb);
  const lines = ["WEBVTT", ""];
  for (let k = 0; k < frames; k++) {
    const start = k * sb.interval;
    const end = Math.min((k + 1) * sb.interval, duration);
    if (end <= start) break;
    const part = starts.filter((p) => p <= k).at(-1) ?? 0;
    const cell = k % perSheet;
    const x = (cell % sb.columns) * sb.tileWidth;
    const y = Math.floor(cell / sb.columns) * sb.tileHeight;
    const file = storyboardSheetName(Math.floor(k / perSheet), part);
    lines.push(
      `${cueTime(start)} --> ${cueTime(end)}`,
      `${imagePrefix}${file}#xywh=${x},${y},${sb.tileWidth},${sb.tileHeight}`,
      "",
    );
  }
  return lines.join("\n");
}

/**
 * The stored thumbnail nearest `time` at the stored width closest to `width` (default: the
 * smallest), or null when the time is outside the video.
 */
export function thumbnailFrameAt(
  sb: Pick<StoryboardLayout, "thumbnails">,
  time: number,
  duration: number,
  width?: number,
): { name: string; frame: number; width: number; height: number } | null {
  if (!Number.isFinite(time) || time < 0 || time > duration) return null;
  const sizes = sb.thumbnails.sizes;
  const size =
    width === undefined
      ? sizes[0]
      : [...sizes].sort((a, b) => Math.abs(a.width - width) - Math.abs(b.width - width) || a.width - b.width)[0];
  if (!size) return null;
  const last = Math.max(0, Math.ceil(duration / sb.thumbnails.interval - 1e-9) - 1);
  const frame = Math.min(last, Math.round(time / sb.thumbnails.interval));
  return { name: thumbnailName(size.width, frame), frame, width: size.width, height: size.height };
}
