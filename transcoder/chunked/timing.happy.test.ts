/**
 * Frame timing that does not fall on whole seconds, encoded in chunks and in one pass, with real
 * ffmpeg on small fixtures: 29.97 fps (frames never land on the 2 s marks), the same with its video
 * starting 0.1 s after its audio, 120 fps (divided down to 60), and a variable-frame-rate source
 * (made constant at its average rate, 27.46 fps). Every rung and the audio must come out packet
 * for packet as the one-pass encode.
 */
import { afterAll, describe, expect, it } from "vitest";
import { type ChunkedRun, encodeBothWays, packetsOf } from "../../test/transcoder/chunked.ts";
import { fixture } from "../../test/transcoder/fixtures.ts";
import { joinRepresentation } from "../../test/transcoder/harness.ts";
import { audioRepresentationId } from "./command.ts";
import { frameAt } from "./plan.ts";

const runs: ChunkedRun[] = [];
afterAll(async () => {
  await Promise.all(runs.map((r) => r.cleanup()));
});

async function expectSameAsOnePass(name: string) {
  const both = await encodeBothWays(fixture(name), {
    maxHeight: 1080,
    chunking: { firstChunkSeconds: 4, chunkSeconds: 4 },
  });
  runs.push(both);
  expect(both.chunks.chunks.length).toBeGreaterThanOrEqual(2);
  const rate = both.chunks.frameRate;
  if (!rate) throw new Error("no frame rate");
  for (const id of [...both.plan.rungs.map((_, i) => String(i)), audioRepresentationId(both.plan)]) {
    const onePass = await packetsOf(await joinRepresentation(both.onePassDir, id));
    const chunked = await packetsOf(await joinRepresentation(both.chunkedDir, id));
    expect(chunked.length).toBeGreaterThan(0);
    expect(chunked).toEqual(onePass);
  }
  const video = await packetsOf(await joinRepresentation(both.chunkedDir, "0"));
  const init = both.chunkOutputs[0]?.representations[0]?.init;
  const ticksPerFrame = ((init?.timescale ?? 0) * rate.den) / rate.num;
  const keyframes = video.filter((p) => p.key).map((p) => p.pts / ticksPerFrame);
  const marks = keyframes.map((_, m) => frameAt(2 * m, rate));
  expect(keyframes).toEqual(marks);
  for (const rep of both.plan.rungs.map((_, i) => String(i))) {
    expect(new Set(both.chunkOutputs.map((o) => o.representations.find((r) => r.id === rep)?.initSha256)).size).toBe(1);
  }
  return both;
}

describe("chunked encoding at frame rates off whole seconds", () => {
  it("29.97 fps: the same frames and keyframes as one pass, each chunk starting on the frame after its mark", async () => {
    const both = await expectSameAsOnePass("ntsc-640x360.mp4");
    expect(both.chunks.chunks.map((c) => c.startFrame)).toEqual([0, 120, 240]);
  });

  it("video starting after the audio: the same frames as one pass, the gap at the start filled the same way", async () => {
    const both = await expectSameAsOnePass("offset-640x360.mp4");
    // ffmpeg repeats the first picture for the 0.1 s before it, in one pass and in the first chunk
    const frames = both.chunkOutputs
      .flatMap((o) => o.representations[0]?.segments ?? [])
      .reduce((n, s) => n + s.samples, 0);
    expect(frames).toBe(405 + 3);
  });

  it("120 fps divided to 60 fps: the same frames as one pass", async () => {
    const both = await expectSameAsOnePass("hfr-640x360-120fps.mp4");
    expect(both.plan.frameRate).toEqual({ num: 120, den: 2 });
    expect(both.chunks.chunks.map((c) => c.startFrame)).toEqual([0, 240]);
  });

  it("variable frame rate: the same frames as one pass at its average rate", async () => {
    const both = await expectSameAsOnePass("vfr-640x360.mp4");
    expect(both.plan.frameRate).toEqual({ num: 91_000_000, den: 3_313_889 });
    expect(both.chunks.chunks.map((c) => c.startFrame)).toEqual([0, 110]);
  });
});
