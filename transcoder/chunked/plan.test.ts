import { describe, expect, it } from "vitest";
import {
  audioStartOf,
  chunkAt,
  chunkKeyframeTimes,
  frameAt,
  frameTime,
  maxKeyframeSpacing,
  planChunks,
} from "./plan.ts";

const fps30 = { num: 30, den: 1 };
const ntsc = { num: 30000, den: 1001 };

/** The frame ffmpeg maps a forced-keyframe time back to: round(µs → frames), as av_rescale_q does. */
const frameOfTime = (seconds: number, rate: { num: number; den: number }) => {
  const us = Math.round(seconds * 1e6);
  return Math.round((us * rate.num) / (rate.den * 1e6));
};

describe("frameAt: the first output frame at or after a mark, as ffmpeg's keyframe expression finds it", () => {
  it("is exact at whole-numbered frame rates", () => {
    expect(frameAt(0, fps30)).toBe(0);
    expect(frameAt(2, fps30)).toBe(60);
    expect(frameAt(60, fps30)).toBe(1800);
    expect(frameAt(4, { num: 120, den: 2 })).toBe(240);
    expect(frameAt(4, { num: 25, den: 1 })).toBe(100);
  });

  it("rounds up to the next frame at 29.97 fps, where frame times miss whole seconds", () => {
    // frame 1798 is at 59.993 s, frame 1799 at 60.027 s
    expect(frameAt(60, ntsc)).toBe(1799);
    expect(frameTime(1799, ntsc)).toBeGreaterThanOrEqual(60);
    expect(frameTime(1798, ntsc)).toBeLessThan(60);
    // frame 120 at 4.004 s, frame 119 at 3.971 s
    expect(frameAt(4, ntsc)).toBe(120);
  });

  it("counts a frame whose time rounds to the mark in microseconds as reaching it", () => {
    // 3 fps: frame 2 is at 0.6666667 s, which rounds to 666667 µs
    expect(frameAt(2 / 3 + 1e-7, { num: 3, den: 1 })).toBe(2);
  });

  it("stays exact with large numerators and hours of video (no floating-point drift)", () => {
    const odd = { num: 91_000_000, den: 3_313_889 };
    const k = frameAt(36_000, odd);
    expect(frameTime(k, odd)).toBeGreaterThanOrEqual(36_000);
    expect(frameTime(k - 1, odd)).toBeLessThan(36_000);
  });

  it("spaces 2 s keyframes at most ceil(2 × fps) frames apart", () => {
    expect(maxKeyframeSpacing(fps30)).toBe(60);
    expect(maxKeyframeSpacing(ntsc)).toBe(60);
    expect(maxKeyframeSpacing({ num: 296, den: 10 })).toBe(60);
    for (let mark = 2; mark < 600; mark += 2) {
      expect(frameAt(mark, ntsc) - frameAt(mark - 2, ntsc)).toBeLessThanOrEqual(maxKeyframeSpacing(ntsc));
    }
  });
});

describe("planChunks", () => {
  it("makes a short first chunk, then CHUNK_SECONDS chunks on the segment grid", () => {
    const plan = planChunks({ duration: 185.4, frameRate: fps30 });
    expect(plan.chunks.map((c) => [c.start, c.end])).toEqual([
      [0, 8],
      [8, 68],
      [68, 128],
      [128, null],
    ]);
    expect(plan.chunks.map((c) => [c.firstSegment, c.lastSegment])).toEqual([
      [1, 2],
      [3, 17],
      [18, 32],
      [33, null],
    ]);
    expect(plan.chunks.map((c) => [c.startFrame, c.endFrame])).toEqual([
      [0, 240],
      [240, 2040],
      [2040, 3840],
      [3840, null],
    ]);
  });

  it("chains chunks without a gap: each one ends on the frame where the next starts", () => {
    const plan = planChunks({ duration: 3601.7, frameRate: ntsc }, { chunkSeconds: 60 });
    for (const [i, c] of plan.chunks.entries()) {
      const next = plan.chunks[i + 1];
      if (next) {
        expect(c.endFrame).toBe(next.startFrame);
        expect(c.lastSegment).toBe(next.firstSegment - 1);
      }
    }
    expect(plan.chunks.at(-1)?.end).toBeNull();
  });

  it("makes one chunk for a short video", () => {
    expect(planChunks({ duration: 16, frameRate: fps30 }).chunks).toEqual([
      { index: 0, start: 0, end: null, firstSegment: 1, lastSegment: null, startFrame: 0, endFrame: null },
    ]);
    expect(planChunks({ duration: 16.5, frameRate: fps30 }).chunks).toHaveLength(2);
  });

  it("joins a tail shorter than the first chunk to the chunk before it", () => {
    expect(planChunks({ duration: 70, frameRate: fps30 }).chunks.map((c) => [c.start, c.end])).toEqual([
      [0, 8],
      [8, null],
    ]);
    expect(planChunks({ duration: 76.5, frameRate: fps30 }).chunks.map((c) => [c.start, c.end])).toEqual([
      [0, 8],
      [8, 68],
      [68, null],
    ]);
  });

  it("makes one chunk when frames cannot be counted in advance: unknown frame rate or duration", () => {
    expect(planChunks({ duration: 600, frameRate: null }).chunks).toHaveLength(1);
    expect(planChunks({ duration: null, frameRate: fps30 }).chunks).toHaveLength(1);
  });

  it("refuses chunk lengths off the segment grid", () => {
    expect(() => planChunks({ duration: 100, frameRate: fps30 }, { chunkSeconds: 30 })).toThrow(/multiple of 4/);
    expect(() => planChunks({ duration: 100, frameRate: fps30 }, { firstChunkSeconds: 0 })).toThrow(RangeError);
  });

  it("finds the chunk holding a time", () => {
    const plan = planChunks({ duration: 185.4, frameRate: fps30 });
    expect(chunkAt(plan, 0).index).toBe(0);
    expect(chunkAt(plan, 8).index).toBe(1);
    expect(chunkAt(plan, 18.5).index).toBe(1);
    expect(chunkAt(plan, 500).index).toBe(3);
  });
});

describe("audioStartOf: the audio the first chunk stores", () => {
  it("covers the first two chunks when more follow, encoding on into the next segment so the last one kept is whole", () => {
    expect(audioStartOf(planChunks({ duration: 185.4, frameRate: fps30 }))).toEqual({ lastSegment: 17, until: 70 });
    expect(
      audioStartOf(planChunks({ duration: 60, frameRate: fps30 }, { firstChunkSeconds: 8, chunkSeconds: 24 })),
    ).toEqual({ lastSegment: 8, until: 34 });
  });

  it("is the whole track when the video has one or two chunks", () => {
    expect(audioStartOf(planChunks({ duration: 16, frameRate: fps30 }))).toEqual({ lastSegment: null, until: null });
    expect(audioStartOf(planChunks({ duration: 70, frameRate: fps30 }))).toEqual({ lastSegment: null, until: null });
  });
});

describe("chunkKeyframeTimes", () => {
  it("lists every 2 s mark of the chunk as an exact time from its first frame", () => {
    const plan = planChunks({ duration: 185, frameRate: ntsc }, { firstChunkSeconds: 8, chunkSeconds: 60 });
    const chunk = plan.chunks[1];
    if (!chunk) throw new Error("no second chunk");
    const times = chunkKeyframeTimes(plan, chunk);
    expect(times).toHaveLength(30);
    expect(times[0]).toBe(0);
    for (const [j, t] of times.entries()) {
      const mark = chunk.start + 2 * j;
      expect(frameOfTime(Number(t.toFixed(6)), ntsc) + chunk.startFrame).toBe(frameAt(mark, ntsc));
    }
  });

  it("lists marks past the probed end of the last chunk, in case the source runs longer", () => {
    const plan = planChunks({ duration: 100, frameRate: fps30 });
    const last = plan.chunks.at(-1);
    if (!last) throw new Error("no chunk");
    const times = chunkKeyframeTimes(plan, last, 10);
    expect(times.at(-1)).toBeGreaterThanOrEqual(100 + 8 - last.start);
  });
});
