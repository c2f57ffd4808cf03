/**
 * Chunk planning for chunked encoding: which time ranges of a source are encoded as separate
 * units, and exactly which output frames and segments each one owns. Pure functions.
 *
 * Chunks sit on the segment grid ({@link SEGMENT_SECONDS}): the first one is short
 * ({@link FIRST_CHUNK_SECONDS}) so the start of a video is ready first, then every chunk is
 * {@link CHUNK_SECONDS} long; a tail shorter than the first chunk joins the chunk before it, and a
 * short video is one chunk. Chunk i covers [start_i, start_{i+1}) and owns segment numbers
 * start_i / 4 + 1 … start_{i+1} / 4.
 *
 * Exactness comes from counting in output frames, not seconds. The output is constant frame
 * rate (planEncode's `fps` filter), so output frame k is at k × den/num s. The one-pass encode
 * forces a keyframe on the first frame whose time, rounded to microseconds as ffmpeg rounds it
 * for `-force_key_frames expr:gte(t,n_forced*2)`, reaches each 2 s mark; {@link frameAt} finds
 * that frame with integer arithmetic. A chunk starts on such a frame and ends just before the next
 * chunk's, so no frame is lost or doubled, and a segment of the whole video starts on the same
 * frame whichever chunk encodes it.
 *
 * Sources without a known frame rate keep their own timing, where frames cannot be counted in
 * advance: they are one chunk.
 */
import { KEYFRAME_SECONDS, SEGMENT_SECONDS } from "../encode.ts";
import type { Rational } from "../source.ts";

/** The first chunk, seconds: short, so the start of the video is playable soon after upload. */
export const FIRST_CHUNK_SECONDS = 8;
/** Every later chunk, seconds (the CHUNK_SECONDS setting's default). */
export const CHUNK_SECONDS = 60;

export interface ChunkingOptions {
  /** A multiple of {@link SEGMENT_SECONDS}; default {@link FIRST_CHUNK_SECONDS}. */
  firstChunkSeconds?: number;
  /** A multiple of {@link SEGMENT_SECONDS}; default {@link CHUNK_SECONDS}. */
  chunkSeconds?: number;
}

export interface Chunk {
  index: number;
  /** Start in seconds of the whole video, on the segment grid. */
  start: number;
  /** Where the next chunk starts; null for the last chunk (it runs to the end of the source). */
  end: number | null;
  /** Global number of the chunk's first segment (numbers start at 1). */
  firstSegment: number;
  /** Global number of its last segment; null for the last chunk, whose count depends on where the source ends. */
  lastSegment: number | null;
  /** Output frame number of the chunk's first frame (0 without a frame rate). */
  startFrame: number;
  /** Output frame number of the next chunk's first frame; null for the last chunk. */
  endFrame: number | null;
}

export interface ChunkPlan {
  /** Output frame rate; null when the output keeps the source's timing (then one chunk). */
  frameRate: Rational | null;
  /** The source's duration in seconds, as probed; null when unknown (then one chunk). */
  duration: number | null;
  chunks: Chunk[];
}

const MICROSECONDS = 1_000_000n;

/**
 * The first output frame at or after a time on the keyframe grid: the smallest k ≥ 0 with
 * round(k × den/num × 10⁶) ≥ seconds × 10⁶, rounding halves up, as ffmpeg computes a frame's
 * time in microseconds (av_rescale_q) before comparing it with the grid.
 */
export function frameAt(seconds: number, frameRate: Rational): number {
  const target = BigInt(Math.round(seconds * 1e6));
  if (target <= 0n) return 0;
  const num = BigInt(frameRate.num);
  const den = BigInt(frameRate.den);
  // round(k·den·10⁶/num) ≥ T  ⇔  2·k·den·10⁶ + num ≥ 2·num·T  ⇔  k ≥ num·(2T − 1) / (2·den·10⁶)
  const top = num * (2n * target - 1n);
  const bottom = 2n * den * MICROSECONDS;
  return Number((top + bottom - 1n) / bottom);
}

/** Whole seconds of output frames: frame k starts at k × den/num s. */
export const frameTime = (frame: number, frameRate: Rational) => (frame * frameRate.den) / frameRate.num;

/** The most frames between two keyframes of the 2 s grid (the x264 keyint that never adds one in between). */
export const maxKeyframeSpacing = (frameRate: Rational) =>
  Math.ceil((KEYFRAME_SECONDS * frameRate.num) / frameRate.den);

function checkSeconds(name: string, value: number) {
  if (!Number.isInteger(value) || value <= 0 || value % SEGMENT_SECONDS !== 0) {
    throw new RangeError(`${name} must be a positive multiple of ${SEGMENT_SECONDS} s, got ${value}`);
  }
}

/** Splits a source into chunks on the segment grid. */
export function planChunks(
  source: { duration: number | null; frameRate: Rational | null },
  options: ChunkingOptions = {},
): ChunkPlan {
  const first = options.firstChunkSeconds ?? FIRST_CHUNK_SECONDS;
  const every = options.chunkSeconds ?? CHUNK_SECONDS;
  checkSeconds("firstChunkSeconds", first);
  checkSeconds("chunkSeconds", every);
  const { duration, frameRate } = source;

  const starts = [0];
  if (frameRate && duration !== null && Number.isFinite(duration) && duration > 2 * first) {
    for (let t = first; t < duration; t += every) starts.push(t);
    // A tail shorter than the first chunk is not worth a unit of its own.
    if (starts.length > 1 && duration - (starts.at(-1) as number) < first) starts.pop();
  }

  const chunks = starts.map((start, index): Chunk => {
    const end = starts[index + 1] ?? null;
    return {
      index,
      start,
      end,
      firstSegment: start / SEGMENT_SECONDS + 1,
      lastSegment: end === null ? null : end / SEGMENT_SECONDS,
      startFrame: frameRate ? frameAt(start, frameRate) : 0,
      endFrame: frameRate && end !== null ? frameAt(end, frameRate) : null,
    };
  });
  return { frameRate, duration, chunks };
}

/** The chunk that holds a time of the whole video (the last one for times past its start). */
export function chunkAt(plan: ChunkPlan, seconds: number): Chunk {
  return plan.chunks.findLast((c) => c.start <= seconds) ?? (plan.chunks[0] as Chunk);
}

/**
 * Times (seconds from the chunk's first frame) of the keyframes a chunk must force: one on the
 * first frame at or after every 2 s mark of the whole video inside the chunk. Written as exact
 * frame times, so ffmpeg maps each back to exactly that frame. The last chunk lists marks up to
 * the probed duration plus `slackSeconds`, in case the source runs longer than its container says.
 */
export function chunkKeyframeTimes(plan: ChunkPlan, chunk: Chunk, slackSeconds = CHUNK_SECONDS): number[] {
  const rate = plan.frameRate;
  if (!rate) return [];
  const until = chunk.end ?? Math.ceil((plan.duration ?? chunk.start) + slackSeconds);
  const times: number[] = [];
  for (let mark = chunk.start; mark < until; mark += KEYFRAME_SECONDS) {
    times.push(frameTime(frameAt(mark, rate) - chunk.startFrame, rate));
  }
  return times;
}

/**
 * How much of the audio the first chunk encodes and stores beside its video, so the start of the
 * video plays before the audio unit runs: the audio of the first two chunks when there are more,
 * or else the whole track. The audio unit encodes the track again from its start, and an AAC
 * encode from the start gives the same bytes for the same packets, so it stores these segments
 * again unchanged.
 *
 * `lastSegment`: the last audio segment kept (null: all of them); `until`: where the encode stops
 * (null: the end), past `lastSegment`'s end so that segment is complete.
 */
export function audioStartOf(plan: ChunkPlan): { lastSegment: number | null; until: number | null } {
  const second = plan.chunks[1];
  if (plan.chunks.length < 3 || !second || second.end === null || second.lastSegment === null) {
    return { lastSegment: null, until: null };
  }
  return { lastSegment: second.lastSegment, until: second.end + SEGMENT_SECONDS / 2 };
}
