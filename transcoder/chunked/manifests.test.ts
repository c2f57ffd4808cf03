import { describe, expect, it } from "vitest";
import { planEncode } from "../encode.ts";
import { parseMpd } from "../manifest.ts";
import type { SourceInfo } from "../source.ts";
import type { InitSegmentInfo } from "./fmp4.ts";
import {
  assemblePresentation,
  buildHlsMaster,
  buildHlsMediaPlaylist,
  buildManifests,
  buildMpd,
  mpdTimeline,
  type PresentationDescription,
  PresentationError,
  predictPresentation,
} from "./manifests.ts";
import { planChunks } from "./plan.ts";
import type { RepresentationOutput, UnitOutput } from "./run.ts";

const source = (duration: number, audio = true): SourceInfo => ({
  formatName: "mov,mp4,m4a,3gp,3g2,mj2",
  duration,
  video: {
    index: 0,
    codec: "h264",
    width: 1280,
    height: 720,
    sampleAspectRatio: 1,
    rotation: 0,
    frameRate: { num: 30, den: 1 },
    interlaced: false,
  },
  audio: audio ? { index: 1, codec: "aac", channels: 2 } : null,
});

const videoInit = (width: number, height: number, sar = "1:1"): InitSegmentInfo => ({
  handler: "vide",
  timescale: 15360,
  editMediaTime: 1024,
  presentationDelay: 0,
  codecs: "avc1.64001f",
  width,
  height,
  sar,
  sampleRate: null,
  channels: null,
});
const audioInit: InitSegmentInfo = {
  handler: "soun",
  timescale: 48000,
  editMediaTime: 1024,
  presentationDelay: 0,
  codecs: "mp4a.40.2",
  width: null,
  height: null,
  sar: null,
  sampleRate: 48000,
  channels: 2,
};
const inits = new Map([
  ["0", videoInit(1280, 720)],
  ["1", videoInit(854, 480, "1280:1281")],
  ["2", audioInit],
]);

describe("predictPresentation: the whole timeline before anything is encoded", () => {
  const plan = planEncode(source(10), 720);
  const chunks = planChunks({ duration: 10, frameRate: plan.frameRate }, { firstChunkSeconds: 4, chunkSeconds: 4 });
  const p = predictPresentation(plan, chunks, inits);

  it("puts video segments on the frame grid, the last one ending with the last frame", () => {
    expect(p.video.map((t) => t.id)).toEqual(["0", "1"]);
    expect(p.video[0]?.segments).toEqual([
      { number: 1, start: 0, duration: 61440 },
      { number: 2, start: 61440, duration: 61440 },
      { number: 3, start: 122880, duration: 30720 },
    ]);
  });

  it("puts audio segments on the packet grid, starting with the encoder delay before 0", () => {
    expect(p.audio?.segments).toEqual([
      { number: 1, start: -1024, duration: 188 * 1024 },
      { number: 2, start: 187 * 1024, duration: 187 * 1024 },
      { number: 3, start: 374 * 1024, duration: 95 * 1024 },
    ]);
  });

  it("announces each rung at its VBV cap and the audio at its nominal rate", () => {
    expect(p.video.map((t) => t.bandwidth)).toEqual(plan.rungs.map((r) => r.maxrate));
    expect(p.audio?.bandwidth).toBe(128_000);
  });

  it("needs the init segments for codecs and timescales", () => {
    expect(() => predictPresentation(plan, chunks, new Map())).toThrow(/init segment/);
  });
});

describe("buildMpd", () => {
  const plan = planEncode(source(10), 720);
  const chunks = planChunks({ duration: 10, frameRate: plan.frameRate });
  const p = predictPresentation(plan, chunks, inits);
  const xml = buildMpd(p);

  it("writes a static MPD that manifest.ts reads back: every rung in one video set, one audio set", () => {
    const mpd = parseMpd(xml);
    expect(mpd.type).toBe("static");
    expect(mpd.adaptationSets).toEqual([
      { id: "0", contentType: "video", representationIds: ["0", "1"] },
      { id: "1", contentType: "audio", representationIds: ["2"] },
    ]);
    expect(mpd.representations[0]).toMatchObject({
      id: "0",
      kind: "video",
      codecs: "avc1.64001f",
      width: 1280,
      height: 720,
      sar: "1:1",
      timescale: 15360,
      bandwidth: plan.rungs[0]?.maxrate,
    });
    expect(mpd.representations[1]).toMatchObject({ width: 854, height: 480, sar: "1280:1281" });
    expect(mpd.representations[2]).toMatchObject({ kind: "audio", codecs: "mp4a.40.2", timescale: 48000 });
    expect(mpd.representations[0]?.segments).toEqual([
      { number: 1, start: 0, duration: 61440 },
      { number: 2, start: 61440, duration: 61440 },
      { number: 3, start: 122880, duration: 30720 },
    ]);
  });

  it("states the audio timeline from 0, its first segment lasting until the second begins", () => {
    const audio = parseMpd(xml).representations[2];
    expect(audio?.segments[0]).toEqual({ number: 1, start: 0, duration: 187 * 1024 });
    expect(audio?.segments[1]?.start).toBe(187 * 1024);
  });

  it("compresses equal segments with r and states t only where the timeline starts", () => {
    expect(xml).toContain('<S t="0" d="61440" r="1" />');
    expect(xml).toContain('<S d="30720" />');
    expect(xml).toMatch(/frameRate="30\/1" maxWidth="1280" maxHeight="720" par="16:9"/);
    expect(xml).toContain('mediaPresentationDuration="PT10.005S"');
    expect(xml).toContain(
      '<AudioChannelConfiguration schemeIdUri="urn:mpeg:dash:23003:3:audio_channel_configuration:2011" value="2" />',
    );
  });

  it("writes a video-only MPD for a source without audio", () => {
    const silent = planEncode(source(10, false), 720);
    const mpd = parseMpd(buildMpd(predictPresentation(silent, chunks, inits)));
    expect(mpd.adaptationSets.map((s) => s.contentType)).toEqual(["video"]);
  });
});

describe("HLS playlists", () => {
  const plan = planEncode(source(10), 720);
  const p = predictPresentation(plan, planChunks({ duration: 10, frameRate: plan.frameRate }), inits);

  it("writes a VOD fMP4 media playlist with the MPD's durations", () => {
    const text = buildHlsMediaPlaylist(p.video[0] as PresentationDescription["video"][number]);
    expect(text.split("\n")).toEqual([
      "#EXTM3U",
      "#EXT-X-VERSION:7",
      "#EXT-X-TARGETDURATION:4",
      "#EXT-X-MEDIA-SEQUENCE:1",
      "#EXT-X-PLAYLIST-TYPE:VOD",
      "#EXT-X-INDEPENDENT-SEGMENTS",
      '#EXT-X-MAP:URI="init-0.m4s"',
      "#EXTINF:4.000000,",
      "chunk-0-00001.m4s",
      "#EXTINF:4.000000,",
      "chunk-0-00002.m4s",
      "#EXTINF:2.000000,",
      "chunk-0-00003.m4s",
      "#EXT-X-ENDLIST",
      "",
    ]);
    const audio = buildHlsMediaPlaylist(p.audio as PresentationDescription["video"][number]);
    const total = [...audio.matchAll(/#EXTINF:([0-9.]+),/g)].reduce((sum, m) => sum + Number(m[1]), 0);
    expect(total).toBeCloseTo(10.005, 3);
  });

  it("writes a master playlist whose variants add the audio's bandwidth", () => {
    const master = buildHlsMaster(p);
    expect(master).toContain(
      '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="group_A1",NAME="audio_2",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2",URI="media_2.m3u8"',
    );
    expect(master).toContain(
      `#EXT-X-STREAM-INF:BANDWIDTH=${(plan.rungs[0]?.maxrate ?? 0) + 128_000},RESOLUTION=1280x720,CODECS="avc1.64001f,mp4a.40.2",AUDIO="group_A1"\nmedia_0.m3u8`,
    );
    expect(master).toContain("media_1.m3u8");
  });

  it("names every manifest file as the one-pass encode does", () => {
    expect([...buildManifests(p, "manifest.mpd").keys()].sort()).toEqual([
      "manifest.mpd",
      "master.m3u8",
      "media_0.m3u8",
      "media_1.m3u8",
      "media_2.m3u8",
    ]);
  });
});

describe("mpdTimeline", () => {
  it("clamps a start below 0 and lets each segment last until the next", () => {
    expect(
      mpdTimeline([
        { number: 1, start: -1024, duration: 2048 },
        { number: 2, start: 1024, duration: 1000 },
      ]),
    ).toEqual([
      { number: 1, start: 0, duration: 1024 },
      { number: 2, start: 1024, duration: 1000 },
    ]);
  });
});

describe("assemblePresentation: the finished presentation from every unit", () => {
  const plan = planEncode(source(12), 720);
  const chunks = planChunks({ duration: 12, frameRate: plan.frameRate }, { firstChunkSeconds: 4, chunkSeconds: 4 });
  const rep = (id: string, sha: string, segments: [number, number, number, number][]): RepresentationOutput => ({
    id,
    init: inits.get(id) as InitSegmentInfo,
    initName: `init-${id}.m4s`,
    initSha256: sha,
    segments: segments.map(([number, start, duration, bytes]) => ({ number, start, duration, bytes, samples: 120 })),
  });
  const chunk = (n: number, sha = "same"): UnitOutput => ({
    representations: [
      rep("0", sha, [[n, (n - 1) * 61440, 61440, 1_000_000 * n]]),
      rep("1", "other", [[n, (n - 1) * 61440, 61440, 500_000]]),
    ],
    files: [],
    poster: null,
  });
  const audio: UnitOutput = {
    representations: [
      rep("2", "audio", [
        [1, -1024, 192512, 64_000],
        [2, 191488, 191488, 64_000],
        [3, 382976, 193024, 64_000],
      ]),
    ],
    files: [],
    poster: null,
  };

  it("joins chunks in any order and announces measured peaks", () => {
    const p = assemblePresentation(plan, chunks, [chunk(3), chunk(1), chunk(2)], audio);
    expect(p.video[0]?.segments.map((s) => s.number)).toEqual([1, 2, 3]);
    // the largest segment: 3 MB in 4 s
    expect(p.video[0]?.bandwidth).toBe(6_000_000);
    expect(p.audio?.bandwidth).toBe(Math.ceil((64_000 * 8) / ((187 * 1024) / 48000)));
  });

  it("refuses a missing chunk, a gap, and init segments that differ between chunks", () => {
    expect(() => assemblePresentation(plan, chunks, [chunk(1), chunk(2)], audio)).toThrow(/2 of 3 chunks/);
    const gap = chunk(3);
    (gap.representations[0]?.segments[0] as { start: number }).start += 512;
    expect(() => assemblePresentation(plan, chunks, [chunk(1), chunk(2), gap], audio)).toThrow(
      /segment 3 starts at 123392, not where segment 2 ends \(122880\)/,
    );
    expect(() => assemblePresentation(plan, chunks, [chunk(1), chunk(2, "different"), chunk(3)], audio)).toThrow(
      PresentationError,
    );
    expect(() => assemblePresentation(plan, chunks, [chunk(1), chunk(2), chunk(3)], null)).toThrow(/audio/);
  });

  it("checks the audio's start stored with the first chunk against the audio unit's", () => {
    const withStart = (segments: [number, number, number, number][], sha = "audio"): UnitOutput => {
      const first = chunk(1);
      return { ...first, representations: [...first.representations, rep("2", sha, segments)] };
    };
    const same = withStart([[1, -1024, 192512, 64_000]]);
    expect(assemblePresentation(plan, chunks, [same, chunk(2), chunk(3)], audio).audio?.segments).toHaveLength(3);
    const other = withStart([[1, -1024, 192512, 63_000]]);
    expect(() => assemblePresentation(plan, chunks, [other, chunk(2), chunk(3)], audio)).toThrow(
      /audio's start stored with the first chunk differs at segment 1/,
    );
    const otherInit = withStart([[1, -1024, 192512, 64_000]], "another");
    expect(() => assemblePresentation(plan, chunks, [otherInit, chunk(2), chunk(3)], audio)).toThrow(/init segment/);
  });
});
