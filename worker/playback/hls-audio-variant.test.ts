import { describe, expect, it } from "vitest";
import { FFMPEG_HLS_MASTER } from "../testing/ffmpeg-manifests.ts";
import { hlsMasterWithAudioOnlyVariant } from "./hls-audio-variant.ts";

const audio = { bandwidth: 131_072, codecs: "mp4a.40.2" };

describe("hlsMasterWithAudioOnlyVariant", () => {
  it("offers the audio playlist as one more variant, after the video ones", () => {
    const master = hlsMasterWithAudioOnlyVariant(FFMPEG_HLS_MASTER, audio);
    const lines = master.split("\n").filter(Boolean);
    expect(lines.slice(-2)).toEqual(['#EXT-X-STREAM-INF:BANDWIDTH=131072,CODECS="mp4a.40.2"', "media_2.m3u8"]);
    expect(lines.filter((l) => l.startsWith("#EXT-X-STREAM-INF:"))).toHaveLength(3);
    expect(master.startsWith(FFMPEG_HLS_MASTER.trimEnd())).toBe(true);
  });

  it("adds it once, and not at all without an audio rendition", () => {
    const once = hlsMasterWithAudioOnlyVariant(FFMPEG_HLS_MASTER, audio);
    expect(hlsMasterWithAudioOnlyVariant(once, audio)).toBe(once);
    const videoOnly = "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-STREAM-INF:BANDWIDTH=1000,RESOLUTION=640x360\nmedia_0.m3u8\n";
    expect(hlsMasterWithAudioOnlyVariant(videoOnly, audio)).toBe(videoOnly);
  });
});
