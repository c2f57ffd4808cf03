/**
 * Units that cannot deliver what their plan says fail, rather than leave a hole or a seam in the
 * video: a source shorter than its container claims, a source that cannot be read, an audio unit
 * for a video without sound. Real ffmpeg on the small fixtures.
 */

import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { isAbsolute, join } from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { fixture } from "../../test/transcoder/fixtures.ts";
import { TEST_PRESET } from "../../test/transcoder/harness.ts";
import { planEncode } from "../encode.ts";
import { FfmpegError, probeMedia } from "../ffmpeg.ts";
import { assessSource } from "../source.ts";
import { planChunks } from "./plan.ts";
import { decodeTimeOffset, startAudioEncode, startChunkEncode, UnitCheckError } from "./run.ts";

const run = promisify(execFile);
let root: string;
let workDir: string;
let outDir: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "streambuddy-chunked-error-"));
  workDir = join(root, "work");
  outDir = join(root, "out");
  await Promise.all([mkdir(workDir), mkdir(outDir)]);
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function planFor(name: string, maxHeight: number) {
  const verdict = assessSource(await probeMedia(isAbsolute(name) ? name : fixture(name), []), {
    maxDurationSeconds: 3600,
  });
  if (!verdict.ok) throw new Error(verdict.message);
  return { source: verdict.source, plan: planEncode(verdict.source, maxHeight) };
}

describe("a unit that cannot make what its plan says", () => {
  it("fails a chunk whose source ends before the chunk does (a container that claims too long a duration)", async () => {
    const { plan } = await planFor("silent-640x360.mp4", 360);
    // The source is 6 s; planned as if it were 20 s, its second chunk [4, 12) runs out after 2 s.
    const chunks = planChunks({ duration: 20, frameRate: plan.frameRate }, { firstChunkSeconds: 4, chunkSeconds: 8 });
    const chunk = chunks.chunks[1];
    if (!chunk) throw new Error("no second chunk");
    const unit = startChunkEncode(plan, chunks, chunk, {
      input: fixture("silent-640x360.mp4"),
      workDir,
      outDir,
      x264Preset: TEST_PRESET,
    });
    await expect(unit.done).rejects.toThrow(UnitCheckError);
    await expect(unit.done).rejects.toThrow(/50 frames, expected 200/);
    expect(await readdir(workDir)).toEqual([]);
  });

  it("fails a chunk whose decoding starts after its first frame, instead of filling the gap with copies", async () => {
    // Keyframes every 10 frames, so a seek past the chunk's start lands there and not before it.
    const source = join(root, "dense-keyframes.mp4");
    await run("ffmpeg", [
      ...["-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30:duration=12"],
      ...["-c:v", "libx264", "-preset", "ultrafast", "-g", "10", "-pix_fmt", "yuv420p", source],
    ]);
    const { plan } = await planFor(source, 240);
    const chunks = planChunks({ duration: 12, frameRate: plan.frameRate }, { firstChunkSeconds: 4, chunkSeconds: 4 });
    const chunk = chunks.chunks[1];
    if (!chunk) throw new Error("no second chunk");
    const unit = startChunkEncode(plan, chunks, chunk, {
      input: source,
      workDir,
      outDir,
      x264Preset: TEST_PRESET,
      prerollSeconds: -0.5,
    });
    // The seek lands on the keyframe at 4.333 s: the chunk's first third of a second is missing.
    await expect(unit.done).rejects.toThrow(/Representation 0 starts 0\.333 s after the unit's first frame/);
  });

  it("fails with ffmpeg's error when the source cannot be read, leaving no scratch behind", async () => {
    const { plan } = await planFor("small-720p.mp4", 480);
    const chunks = planChunks({ duration: 10, frameRate: plan.frameRate }, { firstChunkSeconds: 4, chunkSeconds: 4 });
    const unit = startChunkEncode(plan, chunks, chunks.chunks[1] as (typeof chunks.chunks)[number], {
      input: fixture("not-a-video.mp4"),
      workDir,
      outDir,
      x264Preset: TEST_PRESET,
    });
    await expect(unit.done).rejects.toThrow(FfmpegError);
    expect(await readdir(workDir)).toEqual([]);
    expect(await readdir(outDir)).toEqual([]);
  });

  it("refuses an audio unit for a video without sound", async () => {
    const { plan } = await planFor("silent-640x360.mp4", 360);
    await expect(
      startAudioEncode(plan, { input: fixture("silent-640x360.mp4"), workDir, outDir }).done,
    ).rejects.toThrow(/no audio track/);
  });
});

describe("decodeTimeOffset", () => {
  it("converts a start frame to ticks, and refuses a timescale that cannot express it", () => {
    expect(decodeTimeOffset(1799, 30000, { num: 30000, den: 1001 })).toBe(1799 * 1001);
    expect(decodeTimeOffset(240, 15360, { num: 120, den: 2 })).toBe(240 * 256);
    expect(() => decodeTimeOffset(1, 1000, { num: 30000, den: 1001 })).toThrow(UnitCheckError);
  });
});
