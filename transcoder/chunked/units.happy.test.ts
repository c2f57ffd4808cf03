/**
 * The units of a chunked encode worked for real (ffmpeg) against a stand-in unit API, in the order
 * the Worker hands them out: the probe's result makes the chunk and audio units' inputs, their
 * results make finalize's; what finalize stores is a complete presentation of stored files with
 * measured bandwidths, the same segments a one-pass encode would number. A finalize missing a
 * chunk fails with a reason instead of publishing a gap.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ChunkedUnitInput, JobEvent, UnitAssignment, UnitKind } from "../../shared/protocol.ts";
import { type FakeJobApi, startFakeJobApi } from "../../test/transcoder/fake-job-api.ts";
import { fixture } from "../../test/transcoder/fixtures.ts";
import { TEST_PRESET } from "../../test/transcoder/harness.ts";
import {
  type EncodePlan,
  HLS_MASTER_NAME,
  MANIFEST_NAME,
  mediaSegmentName,
  POSTER_NAME,
  planEncode,
} from "../encode.ts";
import { parseMpd } from "../manifest.ts";
import type { SourceInfo } from "../source.ts";
import { audioRepresentationId } from "./command.ts";
import { runChunkedUnit } from "./units.ts";

let api: FakeJobApi;
let workDir: string;
const chunking = { firstChunkSeconds: 4, chunkSeconds: 4 };

beforeAll(async () => {
  api = await startFakeJobApi({ source: fixture("chunks-720p-16s.mp4") });
  workDir = await mkdtemp(join(tmpdir(), "streambuddy-chunked-units-"));
});
afterAll(async () => {
  await api?.close();
  await rm(workDir, { recursive: true, force: true });
});

/** Runs one unit; answers the event it ended with. */
async function run(kind: UnitKind, input: Record<string, unknown>): Promise<JobEvent> {
  const before = api.events.length;
  const unit: UnitAssignment = {
    ...api.job(),
    maxHeight: 480,
    unitId: `${kind}`,
    kind,
    attempt: 1,
    leaseSeconds: 60,
    input,
  };
  await runChunkedUnit(unit, {
    signal: new AbortController().signal,
    onStatus: () => {},
    log: () => {},
    settings: { x264Preset: TEST_PRESET, workDir },
    progressIntervalMs: 250,
  });
  const final = api.events.slice(before).filter((e) => e.type !== "progress" && e.type !== "playable");
  expect(final).toHaveLength(1);
  return final[0] as JobEvent;
}

/** The `playable` events since event `from`. */
const playableSince = (from: number) => api.events.slice(from).filter((e) => e.type === "playable");

const resultOf = (event: JobEvent) => {
  if (event.type !== "unit_done") throw new Error(`expected unit_done, got ${JSON.stringify(event)}`);
  return event;
};

describe("a chunked encode, unit by unit", () => {
  let common: ChunkedUnitInput;
  let chunkCount = 0;
  let plan: EncodePlan;
  const audioStart = new Map<string, Buffer>();
  const outputs: NonNullable<ChunkedUnitInput["outputs"]> = [];

  it("probes the source and plans its chunks", async () => {
    const probe = resultOf(await run("probe", chunking));
    expect(probe.result).toMatchObject({ chunks: 4, audio: true });
    expect(probe.files).toEqual([]);
    chunkCount = Number(probe.result.chunks);
    common = { ...chunking, source: probe.result.source as Record<string, unknown> };
    plan = planEncode(probe.result.source as unknown as SourceInfo, 480);
  }, 60_000);

  it("stores with the first chunk the start of the audio and manifests of the whole video, and says it plays", async () => {
    const from = api.events.length;
    const first = resultOf(await run("chunk", { ...common, chunk: 0 }));
    expect(first.files.every((f) => api.files.has(f))).toBe(true);
    // Said once, before the chunk was done, naming files all stored: the start (0–4 s of every
    // Representation) and the manifests.
    const [playable, ...more] = playableSince(from);
    expect(more).toEqual([]);
    if (playable?.type !== "playable") throw new Error("no playable event");
    expect(api.events.indexOf(playable)).toBeLessThan(api.events.indexOf(api.events.at(-1) as JobEvent));
    const ids = [...plan.rungs.map((_, i) => String(i)), audioRepresentationId(plan)];
    for (const id of ids)
      expect(playable.files).toEqual(expect.arrayContaining([`init-${id}.m4s`, mediaSegmentName(id, 1)]));
    expect(playable.files).toEqual(expect.arrayContaining([MANIFEST_NAME, HLS_MASTER_NAME]));
    expect(playable.files.every((f) => first.files.includes(f))).toBe(true);
    // The audio of the first two chunks (0–8 s): its init segment and segments 1 and 2.
    const audioId = audioRepresentationId(plan);
    expect(first.files.filter((f) => f.startsWith(`chunk-${audioId}-`)).sort()).toEqual(
      [1, 2].map((n) => mediaSegmentName(audioId, n)),
    );
    expect(first.files).toContain(`init-${audioId}.m4s`);
    expect(first.files.at(-1)).toBe(MANIFEST_NAME);
    expect(first.files).toContain(HLS_MASTER_NAME);
    for (const name of [1, 2].map((n) => mediaSegmentName(audioId, n))) {
      audioStart.set(name, await readFile(join(api.filesDir, name)));
    }

    // The whole video is announced, every rung at its cap, though only its start is stored.
    const mpd = parseMpd(await readFile(join(api.filesDir, MANIFEST_NAME), "utf8"));
    for (const rep of mpd.representations) expect(rep.segments.map((s) => s.number)).toEqual([1, 2, 3, 4, 5]);
    expect(mpd.representations.find((r) => r.kind === "video")?.bandwidth).toBe(plan.rungs[0]?.maxrate);
    expect(api.files.has(mediaSegmentName("0", 3))).toBe(false);
    outputs.push({ kind: "chunk", sequence: 0, result: first.result });
  }, 120_000);

  it("encodes every other chunk and the audio, storing each one's segments under their place in the whole video", async () => {
    for (let chunk = 1; chunk < chunkCount; chunk++) {
      const from = api.events.length;
      const done = resultOf(await run("chunk", { ...common, chunk }));
      expect(done.files.every((f) => api.files.has(f))).toBe(true);
      expect(playableSince(from)).toEqual([]);
      // Chunk 2 (8–12 s) holds segment 3 of every rung, and nothing of another chunk's.
      if (chunk === 2) expect(done.files.filter((f) => f.startsWith("chunk-0-"))).toEqual([mediaSegmentName("0", 3)]);
      outputs.push({ kind: "chunk", sequence: chunk, result: done.result });
    }
    const audio = resultOf(await run("audio", common));
    expect(audio.files.some((f) => f.startsWith("chunk-"))).toBe(true);
    // The audio unit stores the start of the audio again, byte for byte what the first chunk stored.
    for (const [name, bytes] of audioStart) expect((await readFile(join(api.filesDir, name))).equals(bytes)).toBe(true);
    outputs.push({ kind: "audio", sequence: 0, result: audio.result });
  }, 300_000);

  it("finalizes: manifests of stored segments with measured bandwidths, and the version's renditions", async () => {
    const done = await run("finalize", { ...common, outputs });
    if (done.type !== "completed") throw new Error(`expected completed, got ${JSON.stringify(done)}`);
    expect(done.files).toContain(MANIFEST_NAME);
    expect(done.files).toContain(HLS_MASTER_NAME);
    expect(done.files.at(-1)).toBe(MANIFEST_NAME);
    expect(done.poster).toBe(POSTER_NAME);
    expect(api.files.has(POSTER_NAME)).toBe(true);
    expect(done.duration).toBeGreaterThan(16);
    expect(done.duration).toBeLessThan(17);

    const mpd = parseMpd(await readFile(join(api.filesDir, MANIFEST_NAME), "utf8"));
    const video = mpd.representations.filter((r) => r.kind === "video");
    expect(video.length).toBeGreaterThan(0);
    for (const rep of mpd.representations) {
      // Segments 1..5 for 16.5 s, every one stored; the bandwidth is a measured peak, not a cap.
      expect(rep.segments.map((s) => s.number)).toEqual([1, 2, 3, 4, 5]);
      for (const s of rep.segments) expect(api.files.has(mediaSegmentName(rep.id, s.number))).toBe(true);
      const announced = done.renditions.find((r) => r.id === rep.id);
      expect(announced?.bandwidth).toBe(rep.bandwidth);
      const biggest = Math.max(...rep.segments.map((s) => api.files.get(mediaSegmentName(rep.id, s.number)) ?? 0));
      expect(rep.bandwidth).toBeGreaterThanOrEqual(Math.floor((biggest * 8) / 5));
    }
    expect(done.renditions.map((r) => r.kind).sort()).toEqual([...video.map(() => "video"), "audio"].sort());
  }, 60_000);

  it("refuses to finalize with a chunk missing, saying the parts do not fit", async () => {
    const failed = await run("finalize", {
      ...common,
      outputs: outputs.filter((o) => o.sequence !== 1 || o.kind !== "chunk"),
    });
    expect(failed).toMatchObject({ type: "failed", code: "transcode_failed" });
    expect(failed.type === "failed" && failed.message).toMatch(/do not fit together/);
  }, 60_000);
});
