import { describe, expect, it } from "vitest";
import { m3u8WithPrefix, mpdWithBaseUrl } from "./manifests";

describe("manifest rewriting", () => {
  it("puts a BaseURL first inside the MPD", () => {
    const mpd = '<?xml version="1.0"?>\n<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static">\n  <Period/>\n</MPD>';
    const out = mpdWithBaseUrl(mpd, "v1/");
    expect(out).toContain('type="static">\n  <BaseURL>v1/</BaseURL>\n  <Period/>');
  });

  it("prefixes relative URIs of an HLS playlist and leaves absolute ones", () => {
    const playlist = [
      "#EXTM3U",
      '#EXT-X-MAP:URI="init-0.m4s"',
      '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="a",URI="media_1.m3u8"',
      "#EXT-X-STREAM-INF:BANDWIDTH=1000",
      "media_0.m3u8",
      "https://elsewhere/x.m3u8",
      "",
    ].join("\n");
    const out = m3u8WithPrefix(playlist, "v1/").split("\n");
    expect(out[1]).toBe('#EXT-X-MAP:URI="v1/init-0.m4s"');
    expect(out[2]).toContain('URI="v1/media_1.m3u8"');
    expect(out[4]).toBe("v1/media_0.m3u8");
    expect(out[5]).toBe("https://elsewhere/x.m3u8");
  });
});
