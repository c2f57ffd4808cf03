/**
 * The encoding ladder: which renditions a source gets, at what size and bitrate. Pure functions.
 *
 * Rungs are named by their shorter side ("1080p" is 1920x1080 landscape or 1080x1920 portrait):
 * 2160p, 1440p, 1080p, 720p, 480p, plus 360p for sources below 480p. A rung is never above the
 * source's shorter side nor above the job's `maxHeight`. A source whose shorter side is within 5%
 * below a rung (1278x718, 1920x1036) gets that rung at its own size instead of dropping to the
 * next one down. A source smaller than 360p gets one rung at its own size.
 *
 * Sizes are computed on the displayed picture (sample aspect ratio and rotation applied), keep
 * its aspect ratio, and are even (4:2:0 chroma). Pixels are square up to that rounding: all rungs
 * share one DASH AdaptationSet, which needs one exact display aspect ratio, so a rung whose even
 * size cannot express it exactly (854x480 for 16:9) carries a compensating sample aspect ratio,
 * off square by at most one pixel over the longer side (1280:1281 in that case). ffmpeg's scale
 * filter sets it.
 *
 * Rate control is capped CRF: every rung uses {@link CRF}, and x264's VBV caps it at a maxrate
 * taken from {@link BITS_PER_PIXEL}, with a buffer of {@link BUFSIZE_SECONDS} × maxrate.
 */

/** Standard rungs by shorter side, largest first. */
export const RUNG_HEIGHTS = [2160, 1440, 1080, 720, 480] as const;
/** The extra rung for sources below 480p. */
export const SMALL_SOURCE_RUNG = 360;
/** A source at least this fraction of a rung gets that rung at its own size. */
export const NEAR_RUNG_FRACTION = 0.95;

/**
 * x264 constant rate factor for every rung. Below the cap it decides quality; 21 is visually
 * clean on typical content at the `veryfast`/`faster` presets.
 */
export const CRF = 21;

/**
 * Bits per pixel per frame at 30 fps, by rung: maxrate = bpp × width × height × 30 × fpsFactor.
 * Smaller pictures need more bits per pixel for the same look, so bpp falls as size grows.
 *
 * | rung  | bpp   | maxrate at 16:9, ≤30 fps |
 * |-------|-------|--------------------------|
 * | 2160p | 0.060 | 14.9 Mbit/s              |
 * | 1440p | 0.075 | 8.3 Mbit/s               |
 * | 1080p | 0.100 | 6.2 Mbit/s               |
 * | 720p  | 0.105 | 2.9 Mbit/s               |
 * | 480p  | 0.120 | 1.5 Mbit/s               |
 * | 360p  | 0.140 | 0.97 Mbit/s              |
 *
 * Sources smaller than 360p use the 360p value.
 */
export const BITS_PER_PIXEL: Readonly<Record<number, number>> = {
  2160: 0.06,
  1440: 0.075,
  1080: 0.1,
  720: 0.105,
  480: 0.12,
  360: 0.14,
};

/** VBV buffer size in seconds of maxrate. */
export const BUFSIZE_SECONDS = 2;

/** Highest output frame rate; faster sources are divided down (120 → 60, 100 → 50). */
export const MAX_FRAME_RATE = 60;

export interface VideoGeometry {
  /** Decoded picture size, before sample aspect ratio and rotation. */
  width: number;
  height: number;
  /** Width of one pixel over its height; 1 (or absent) for square pixels. */
  sampleAspectRatio?: number;
  /** Display rotation in degrees (phone video), any multiple of 90. */
  rotation?: number;
}

export interface Rung {
  /** "1080p", "720p", … or the source's own height for sources below 360p ("240p"). */
  name: string;
  width: number;
  height: number;
  crf: number;
  /** VBV cap, bits per second. */
  maxrate: number;
  /** VBV buffer, bits. */
  bufsize: number;
}

export interface LadderOptions {
  /** The job's highest rung (shorter side). */
  maxHeight: number;
  /** Output frames per second, for the bitrate cap; 30 when unknown. */
  frameRate?: number | null;
}

const roundEven = (n: number) => Math.max(2, Math.round(n / 2) * 2);
const floorEven = (n: number) => Math.max(2, Math.floor(n / 2) * 2);

/** The picture as shown: sample aspect ratio applied to the width, then rotation. */
export function displaySize(g: VideoGeometry): { width: number; height: number } {
  const sar =
    g.sampleAspectRatio && Number.isFinite(g.sampleAspectRatio) && g.sampleAspectRatio > 0 ? g.sampleAspectRatio : 1;
  const width = g.width * sar;
  const quarterTurns = Math.round((((g.rotation ?? 0) % 360) + 360) / 90) % 4;
  return quarterTurns % 2 === 1 ? { width: g.height, height: width } : { width, height: g.height };
}

/** How much more a faster frame rate may spend: 1 up to 30 fps, 1.52 at 60 fps. */
export const frameRateFactor = (fps: number | null | undefined) =>
  fps && Number.isFinite(fps) && fps > 30 ? (fps / 30) ** 0.6 : 1;

/** Bitrate cap for a rung of a class (its nominal shorter side) at a size and frame rate. */
export function rungMaxrate(rungClass: number, width: number, height: number, fps?: number | null): number {
  const bpp = BITS_PER_PIXEL[rungClass] ?? BITS_PER_PIXEL[SMALL_SOURCE_RUNG] ?? 0.14;
  return Math.round((bpp * width * height * 30 * frameRateFactor(fps)) / 1000) * 1000;
}

/** Output frame rate: the source's, divided by the smallest whole number that brings it to ≤ 60. */
export function outputFrameRate(fps: number | null | undefined): number | null {
  if (!fps || !Number.isFinite(fps) || fps <= 0) return null;
  return fps / Math.ceil(fps / MAX_FRAME_RATE - 1e-9);
}

/** Plans the renditions of a source, largest first. */
export function planLadder(source: VideoGeometry, options: LadderOptions): Rung[] {
  const shown = displaySize(source);
  const portrait = shown.height > shown.width;
  const shortSide = Math.min(shown.width, shown.height);
  const longSide = Math.max(shown.width, shown.height);
  const aspect = longSide / shortSide;
  const cap = Math.min(shortSide, options.maxHeight);

  // [class, shorter side of the output]
  const picks: [number, number][] = [];
  for (const rung of RUNG_HEIGHTS) {
    if (rung <= cap) picks.push([rung, rung]);
    else if (rung <= options.maxHeight && shortSide >= rung * NEAR_RUNG_FRACTION)
      picks.push([rung, floorEven(shortSide)]);
  }
  if (shortSide < 480) {
    if (SMALL_SOURCE_RUNG <= cap) picks.push([SMALL_SOURCE_RUNG, SMALL_SOURCE_RUNG]);
    else if (SMALL_SOURCE_RUNG <= options.maxHeight && shortSide >= SMALL_SOURCE_RUNG * NEAR_RUNG_FRACTION) {
      picks.push([SMALL_SOURCE_RUNG, floorEven(shortSide)]);
    }
  }
  if (picks.length === 0) {
    const side = floorEven(cap);
    picks.push([side, side]);
  }

  return picks.map(([rungClass, side]) => {
    const long = Math.min(roundEven(side * aspect), floorEven(Math.max(longSide, side)));
    const width = portrait ? side : long;
    const height = portrait ? long : side;
    const maxrate = rungMaxrate(rungClass, width, height, options.frameRate);
    return { name: `${rungClass}p`, width, height, crf: CRF, maxrate, bufsize: maxrate * BUFSIZE_SECONDS };
  });
}

/** Keyframe interval in frames for a 2-second GOP. */
export const gopFrames = (fps: number | null | undefined) => Math.max(1, Math.round(2 * (fps && fps > 0 ? fps : 30)));
