import { describe, expect, it } from "vitest";
import { MASTER, MEDIA, MPD } from "../test/transcoder/manifest-samples.ts";
import { finishHlsMaster, finishHlsMediaPlaylist, parseMpd, peakBitrate, setMpdBandwidths } from "./manifest.ts";

describe("parseMpd", () => {
  it("reads adaptation sets, representations and every segment of each timeline", () => {
    const mpd = parseMpd(MPD);
    expect(mpd.type).toBe("static");
    expect(mpd.adaptationSets).toEqual([
      { id: "0", contentType: "video", representationIds: ["0", "1"] },
      { id: "1", contentType: "audio", representationIds: ["2"] },
    ]);
    const [top, low, sound] = mpd.representations;
    expect(top).toMatchObject({ id: "0", kind: "video", width: 1280, height: 720, codecs: "avc1.64001f", sar: "1:1" });
    expect(low).toMatchObject({ id: "1", kind: "video", width: 854, height: 480, sar: "1280:1281" });
    expect(sound).toMatchObject({ id: "2", kind: "audio", width: null, codecs: "mp4a.40.2", timescale: 48000 });
    expect(top?.segments).toEqual([
      { number: 1, start: 0, duration: 61440 },
      { number: 2, start: 61440, duration: 61440 },
      { number: 3, start: 122880, duration: 30720 },
    ]);
    expect(sound?.segments.map((s) => s.start)).toEqual([0, 189440, 380928]);
  });
});

describe("peakBitrate: honest bandwidth", () => {
  it("is the highest segment rate, not the average", () => {
    const peak = peakBitrate(
      [
        { bytes: 500_000, seconds: 4 },
        { bytes: 2_000_000, seconds: 4 },
        { bytes: 250_000, seconds: 2 },
      ],
      4,
    );
    expect(peak).toBe(4_000_000);
  });

  it("counts a tiny last segment together with the one before it", () => {
    const peak = peakBitrate(
      [
        { bytes: 1_000_000, seconds: 4 },
        { bytes: 100_000, seconds: 1 / 30 },
      ],
      4,
    );
    expect(peak).toBe(Math.ceil((1_100_000 * 8) / (4 + 1 / 30)));
  });
});

describe("finishing the manifests", () => {
  it("replaces each Representation's bandwidth by id, leaving the rest untouched", () => {
    const out = setMpdBandwidths(
      MPD,
      new Map([
        ["0", 4_000_000],
        ["2", 131_000],
      ]),
    );
    const mpd = parseMpd(out);
    expect(mpd.representations.map((r) => r.bandwidth)).toEqual([4_000_000, 866_588, 131_000]);
    expect(out.replace(/bandwidth="\d+"/g, "")).toBe(MPD.replace(/bandwidth="\d+"/g, ""));
  });

  it("sets each HLS variant's BANDWIDTH and marks segments independent", () => {
    const out = finishHlsMaster(
      MASTER,
      new Map([
        ["media_0.m3u8", 4_131_000],
        ["media_1.m3u8", 2_000_000],
      ]),
    );
    expect(out).toContain("#EXT-X-STREAM-INF:BANDWIDTH=4131000,RESOLUTION=1280x720,");
    expect(out).toContain("#EXT-X-STREAM-INF:BANDWIDTH=2000000,RESOLUTION=854x480,");
    expect(out.split("\n")[2]).toBe("#EXT-X-INDEPENDENT-SEGMENTS");
  });

  it("marks media playlists VOD and drops the encoder's wall-clock dates", () => {
    const out = finishHlsMediaPlaylist(MEDIA);
    expect(out).not.toContain("PROGRAM-DATE-TIME");
    expect(out.split("\n").slice(0, 3)).toEqual(["#EXTM3U", "#EXT-X-VERSION:6", "#EXT-X-PLAYLIST-TYPE:VOD"]);
    expect(out).toContain("chunk-0-00002.m4s\n#EXT-X-ENDLIST");
  });
});
