import { describe, expect, it } from "vitest";
import {
  BITS_PER_PIXEL,
  displaySize,
  gopFrames,
  outputFrameRate,
  planLadder,
  type Rung,
  rungMaxrate,
} from "./ladder.ts";

const sizes = (rungs: Rung[]) => rungs.map((r) => `${r.width}x${r.height}`);
const names = (rungs: Rung[]) => rungs.map((r) => r.name);

describe("planLadder: which rungs a source gets", () => {
  it("gives a 4K source every rung up to 2160p when the job allows it", () => {
    const rungs = planLadder({ width: 3840, height: 2160 }, { maxHeight: 2160 });
    expect(sizes(rungs)).toEqual(["3840x2160", "2560x1440", "1920x1080", "1280x720", "854x480"]);
    expect(names(rungs)).toEqual(["2160p", "1440p", "1080p", "720p", "480p"]);
  });

  it("caps a 4K source at the job's maxHeight", () => {
    expect(sizes(planLadder({ width: 3840, height: 2160 }, { maxHeight: 1080 }))).toEqual([
      "1920x1080",
      "1280x720",
      "854x480",
    ]);
    expect(sizes(planLadder({ width: 3840, height: 2160 }, { maxHeight: 1440 }))[0]).toBe("2560x1440");
  });

  it("never goes above the source: 1080p and 720p sources", () => {
    expect(sizes(planLadder({ width: 1920, height: 1080 }, { maxHeight: 2160 }))).toEqual([
      "1920x1080",
      "1280x720",
      "854x480",
    ]);
    expect(sizes(planLadder({ width: 1280, height: 720 }, { maxHeight: 2160 }))).toEqual(["1280x720", "854x480"]);
  });

  it("keeps portrait video portrait, with rungs named by the shorter side", () => {
    const rungs = planLadder({ width: 720, height: 1280 }, { maxHeight: 1080 });
    expect(sizes(rungs)).toEqual(["720x1280", "480x854"]);
    expect(names(rungs)).toEqual(["720p", "480p"]);
    for (const r of rungs) expect(r.height).toBeGreaterThan(r.width);
  });

  it("applies phone rotation metadata: a 1920x1080 frame rotated 90° is a portrait video", () => {
    for (const rotation of [90, -90, 270]) {
      expect(sizes(planLadder({ width: 1920, height: 1080, rotation }, { maxHeight: 1080 }))).toEqual([
        "1080x1920",
        "720x1280",
        "480x854",
      ]);
    }
    expect(sizes(planLadder({ width: 1920, height: 1080, rotation: 180 }, { maxHeight: 1080 }))[0]).toBe("1920x1080");
  });

  it("adds 360p only below 480p: 640x360 gets one 360p rung, 640x400 a 360p rung too", () => {
    expect(sizes(planLadder({ width: 640, height: 360 }, { maxHeight: 1080 }))).toEqual(["640x360"]);
    expect(sizes(planLadder({ width: 640, height: 400 }, { maxHeight: 1080 }))).toEqual(["576x360"]);
    expect(sizes(planLadder({ width: 854, height: 480 }, { maxHeight: 1080 }))).toEqual(["854x480"]);
  });

  it("gives a source smaller than 360p one rung at its own even-rounded size", () => {
    expect(
      planLadder({ width: 320, height: 240 }, { maxHeight: 1080 }).map((r) => [r.name, r.width, r.height]),
    ).toEqual([["240p", 320, 240]]);
    expect(sizes(planLadder({ width: 321, height: 241 }, { maxHeight: 1080 }))).toEqual(["320x240"]);
    expect(sizes(planLadder({ width: 426, height: 240 }, { maxHeight: 1080 }))).toEqual(["426x240"]);
  });

  it("keeps a source just below a rung at its own size instead of dropping a rung (1278x718)", () => {
    const rungs = planLadder({ width: 1278, height: 718 }, { maxHeight: 1080 });
    expect(sizes(rungs)).toEqual(["1278x718", "854x480"]);
    expect(names(rungs)).toEqual(["720p", "480p"]);
    expect(sizes(planLadder({ width: 1920, height: 1036 }, { maxHeight: 1080 }))[0]).toBe("1920x1036");
    // Well below a rung, the next one down is the top.
    expect(sizes(planLadder({ width: 1600, height: 900 }, { maxHeight: 1080 }))).toEqual(["1280x720", "854x480"]);
  });

  it("applies the sample aspect ratio so anamorphic sources come out with square pixels", () => {
    // PAL widescreen: 720x576 stored, shown 1024x576.
    expect(sizes(planLadder({ width: 720, height: 576, sampleAspectRatio: 64 / 45 }, { maxHeight: 1080 }))).toEqual([
      "854x480",
    ]);
    // PAL 4:3: 720x576 shown 768x576.
    expect(sizes(planLadder({ width: 720, height: 576, sampleAspectRatio: 16 / 15 }, { maxHeight: 1080 }))).toEqual([
      "640x480",
    ]);
    // HDV: 1440x1080 stored, shown 1920x1080.
    expect(sizes(planLadder({ width: 1440, height: 1080, sampleAspectRatio: 4 / 3 }, { maxHeight: 1080 }))).toEqual([
      "1920x1080",
      "1280x720",
      "854x480",
    ]);
  });

  it("falls back to one rung at maxHeight when the job asks for less than the smallest rung", () => {
    expect(sizes(planLadder({ width: 1920, height: 1080 }, { maxHeight: 360 }))).toEqual(["640x360"]);
    expect(sizes(planLadder({ width: 1920, height: 1080 }, { maxHeight: 480 }))).toEqual(["854x480"]);
  });

  it("always produces even sizes that keep the displayed aspect ratio", () => {
    const sources = [
      { width: 3840, height: 2160 },
      { width: 1278, height: 718 },
      { width: 1000, height: 1000 },
      { width: 2048, height: 858 },
      { width: 1080, height: 1350 },
      { width: 720, height: 576, sampleAspectRatio: 64 / 45 },
      { width: 333, height: 187 },
    ];
    for (const source of sources) {
      const shown = displaySize(source);
      for (const rung of planLadder(source, { maxHeight: 2160 })) {
        expect(rung.width % 2, `${rung.width}x${rung.height}`).toBe(0);
        expect(rung.height % 2, `${rung.width}x${rung.height}`).toBe(0);
        expect(Math.min(rung.width, rung.height)).toBeLessThanOrEqual(Math.min(shown.width, shown.height));
        // Within rounding to even numbers: at most 1 pixel off on the longer side.
        const exactLong =
          (Math.min(rung.width, rung.height) * Math.max(shown.width, shown.height)) /
          Math.min(shown.width, shown.height);
        expect(Math.abs(Math.max(rung.width, rung.height) - exactLong)).toBeLessThanOrEqual(1.01);
      }
    }
  });
});

describe("planLadder: bitrate caps", () => {
  it("caps each rung from the bits-per-pixel table, falling with the rung", () => {
    const rungs = planLadder({ width: 3840, height: 2160 }, { maxHeight: 2160, frameRate: 30 });
    expect(rungs[2]?.maxrate).toBe(Math.round(((BITS_PER_PIXEL[1080] as number) * 1920 * 1080 * 30) / 1000) * 1000);
    for (let i = 1; i < rungs.length; i++) {
      expect(rungs[i]?.maxrate).toBeLessThan(rungs[i - 1]?.maxrate as number);
    }
    for (const r of rungs) {
      expect(r.bufsize).toBe(r.maxrate * 2);
      expect(r.crf).toBeGreaterThan(0);
    }
  });

  it("gives 60 fps more room than 30 fps, and 24 fps the same as 30", () => {
    const at30 = rungMaxrate(1080, 1920, 1080, 30);
    expect(rungMaxrate(1080, 1920, 1080, 60)).toBeGreaterThan(at30 * 1.4);
    expect(rungMaxrate(1080, 1920, 1080, 60)).toBeLessThan(at30 * 2);
    expect(rungMaxrate(1080, 1920, 1080, 24)).toBe(at30);
  });
});

describe("frame rate and keyframe interval", () => {
  it("divides frame rates above 60 down by a whole number", () => {
    expect(outputFrameRate(120)).toBe(60);
    expect(outputFrameRate(100)).toBe(50);
    expect(outputFrameRate(240)).toBe(60);
    expect(outputFrameRate(60)).toBe(60);
    expect(outputFrameRate(30000 / 1001)).toBeCloseTo(29.97, 2);
    expect(outputFrameRate(null)).toBeNull();
  });

  it("makes a GOP of 2 seconds", () => {
    expect(gopFrames(30)).toBe(60);
    expect(gopFrames(25)).toBe(50);
    expect(gopFrames(30000 / 1001)).toBe(60);
    expect(gopFrames(60)).toBe(120);
    expect(gopFrames(null)).toBe(60);
  });
});
