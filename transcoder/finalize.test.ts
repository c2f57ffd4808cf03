/**
 * The finalize phase on its own: finishing manifests from sizes given by the test, and storing
 * the outputs of a real (small) encode through the uploader to the stand-in job API.
 */
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeJobApi, startFakeJobApi } from "../test/transcoder/fake-job-api.ts";
import { fixture } from "../test/transcoder/fixtures.ts";
import { testPatternCommand } from "../test/transcoder/harness.ts";
import { MASTER, MEDIA, MPD } from "../test/transcoder/manifest-samples.ts";
import { runEncodeSession } from "./encode-session.ts";
import { JobFailure } from "./failure.ts";
import { type FinalizedOutputs, finalizeOutputs, finishManifests, type ManifestTexts } from "./finalize.ts";
import { createJobApiClient } from "./job-api.ts";
import { parseMpd } from "./manifest.ts";
import { startUploader } from "./uploader.ts";

/** The sample's two video rungs and audio, with one media playlist each. */
const texts: ManifestTexts = {
  mpd: MPD,
  hlsMaster: MASTER,
  hlsMedia: new Map(["0", "1", "2"].map((id) => [`media_${id}.m3u8`, MEDIA.replaceAll("-0", `-${id}`)])),
};

/** Stored sizes, as a listing of the stored objects would give them: name → bytes. */
const storedSizes = () =>
  new Map<string, number>([
    ["init-0.m4s", 900],
    ["init-1.m4s", 900],
    ["init-2.m4s", 700],
    // 4 s, 4 s, 2 s: 2, 3 and 2 Mbit/s.
    ["chunk-0-00001.m4s", 1_000_000],
    ["chunk-0-00002.m4s", 1_500_000],
    ["chunk-0-00003.m4s", 500_000],
    // 0.8, 0.6 and 0.4 Mbit/s.
    ["chunk-1-00001.m4s", 400_000],
    ["chunk-1-00002.m4s", 300_000],
    ["chunk-1-00003.m4s", 100_000],
    // Audio segments of 3.947 s, 3.989 s and 2.069 s: the first is the peak, 125,675.7 bit/s.
    ["chunk-2-00001.m4s", 62_000],
    ["chunk-2-00002.m4s", 62_000],
    ["chunk-2-00003.m4s", 30_000],
  ]);

/** What a call throws (a JobFailure here), or null. */
const thrown = (call: () => unknown): unknown => {
  try {
    call();
  } catch (err) {
    expect(err).toBeInstanceOf(JobFailure);
    return err;
  }
  return null;
};

describe("finishManifests", () => {
  const finished = finishManifests(texts, storedSizes());
  const body = (name: string) => finished.files.find((f) => f.name === name)?.body ?? "";

  it("announces each Representation's measured peak from the sizes it is given", () => {
    expect(finished.renditions).toEqual([
      { id: "0", kind: "video", width: 1280, height: 720, bandwidth: 3_000_000, codecs: "avc1.64001f" },
      { id: "1", kind: "video", width: 854, height: 480, bandwidth: 800_000, codecs: "avc1.64001e" },
      { id: "2", kind: "audio", width: null, height: null, bandwidth: 125_676, codecs: "mp4a.40.2" },
    ]);
    expect(parseMpd(body("manifest.mpd")).representations.map((r) => [r.id, r.bandwidth])).toEqual([
      ["0", 3_000_000],
      ["1", 800_000],
      ["2", 125_676],
    ]);
  });

  it("gives each HLS variant its video peak plus the audio peak, and makes the playlists VOD", () => {
    expect(body("master.m3u8")).toContain("#EXT-X-STREAM-INF:BANDWIDTH=3125676,RESOLUTION=1280x720");
    expect(body("master.m3u8")).toContain("#EXT-X-STREAM-INF:BANDWIDTH=925676,RESOLUTION=854x480");
    for (const name of ["media_0.m3u8", "media_1.m3u8", "media_2.m3u8"]) {
      expect(body(name)).toContain("#EXT-X-PLAYLIST-TYPE:VOD");
      expect(body(name)).not.toContain("#EXT-X-PROGRAM-DATE-TIME");
    }
  });

  it("lists the files to store with the MPD last", () => {
    expect(finished.files.map((f) => f.name)).toEqual([
      "media_0.m3u8",
      "media_1.m3u8",
      "media_2.m3u8",
      "master.m3u8",
      "manifest.mpd",
    ]);
    const withoutMaster = finishManifests({ ...texts, hlsMaster: null }, storedSizes());
    expect(withoutMaster.files.map((f) => f.name).at(-1)).toBe("manifest.mpd");
    expect(withoutMaster.files.map((f) => f.name)).not.toContain("master.m3u8");
  });

  it("refuses to publish a manifest that points at segments that were not stored", () => {
    const sizes = storedSizes();
    sizes.delete("chunk-1-00003.m4s");
    sizes.delete("init-2.m4s");
    expect(thrown(() => finishManifests(texts, sizes))).toMatchObject({
      code: "transcode_failed",
      message: "The manifest lists segments that were not stored: chunk-1-00003.m4s, init-2.m4s.",
    });
    expect(thrown(() => finishManifests(texts, new Map()))).toMatchObject({
      code: "transcode_failed",
      message: expect.stringMatching(/not stored: init-0\.m4s, chunk-0-00001\.m4s, .* and 7 more\.$/),
    });
  });
});

describe("finalizeOutputs after a real encode", () => {
  let api: FakeJobApi;
  let dir: string;
  let outputs: FinalizedOutputs;
  let segmentsStored: string[];

  beforeAll(async () => {
    api = await startFakeJobApi({ source: fixture("small-720p.mp4") });
    dir = await mkdtemp(join(tmpdir(), "streambuddy-test-finalize-"));
    const signal = new AbortController().signal;
    const uploader = startUploader({
      dir,
      api: createJobApiClient(api.job()),
      concurrency: 2,
      maxPendingBytes: 64 << 20,
      signal,
    });
    await runEncodeSession({
      command: testPatternCommand(6, dir, { audio: true }),
      maxDurationSeconds: 3600,
      backpressure: uploader,
      signal,
      log: () => {},
    });
    await uploader.finish();
    segmentsStored = [...api.files.keys()];
    outputs = await finalizeOutputs({ dir, uploader, log: () => {} });
  });
  afterAll(async () => {
    await api.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("stores the poster, the playlists and the MPD after every segment, the MPD last", () => {
    expect(segmentsStored.every((n) => n.endsWith(".m4s"))).toBe(true);
    expect([...api.files.keys()].slice(segmentsStored.length)).toEqual([
      "poster.jpg",
      "media_0.m3u8",
      "media_1.m3u8",
      "master.m3u8",
      "manifest.mpd",
    ]);
    expect(outputs.poster).toBe("poster.jpg");
  });

  it("stores the MPD with the peaks it reports", async () => {
    const stored = parseMpd(await readFile(join(api.filesDir, "manifest.mpd"), "utf8"));
    expect(stored.type).toBe("static");
    expect(stored.representations.map((r) => [r.id, r.kind, r.bandwidth])).toEqual(
      outputs.renditions.map((r) => [r.id, r.kind, r.bandwidth]),
    );
    expect(outputs.renditions.map((r) => [r.kind, r.width, r.height])).toEqual([
      ["video", 320, 240],
      ["audio", null, null],
    ]);
  });

  it("leaves nothing behind in the scratch directory", async () => {
    expect(await readdir(dir)).toEqual([]);
  });

  it("calls an encode that wrote no MPD unsupported", async () => {
    const empty = await mkdtemp(join(tmpdir(), "streambuddy-test-finalize-"));
    try {
      const uploader = { uploaded: new Map<string, number>(), uploadNow: async () => {} };
      await expect(finalizeOutputs({ dir: empty, uploader, log: () => {} })).rejects.toThrow(
        new JobFailure("unsupported", "No video frames could be decoded from the file."),
      );
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });
});
