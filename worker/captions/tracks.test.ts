import { describe, expect, it } from "vitest";
import { FFMPEG_HLS_MASTER, FFMPEG_MPD } from "../testing/ffmpeg-manifests.ts";
import {
  type CaptionTrack,
  captionPlaylistName,
  HLS_SUBTITLE_GROUP,
  hlsCaptionPlaylist,
  hlsMasterWithCaptions,
  mpdWithCaptions,
  vttWithTimestampMap,
} from "./tracks.ts";

const tracks: CaptionTrack[] = [
  { lang: "en", label: "English", url: "/v/abc/captions/en.vtt" },
  { lang: "pt-BR", label: 'Português "BR" & <co>', url: "/v/abc/captions/pt-BR.vtt?a=1&b=2", kind: "captions" },
];

/** Each AdaptationSet element of an MPD, as text. */
const adaptationSets = (mpd: string) =>
  [...mpd.matchAll(/<AdaptationSet\b[\s\S]*?<\/AdaptationSet>/g)].map((m) => m[0]);

describe("mpdWithCaptions", () => {
  const mpd = mpdWithCaptions(FFMPEG_MPD, tracks);
  const sets = adaptationSets(mpd);

  it("adds one text/vtt AdaptationSet per track after ffmpeg's video and audio sets", () => {
    expect(sets).toHaveLength(4);
    expect(sets[0]).toContain('contentType="video"');
    expect(sets[1]).toContain('contentType="audio"');
    expect(sets[2]).toBe(
      [
        '<AdaptationSet id="2" contentType="text" mimeType="text/vtt" lang="en">',
        '\t\t\t<Role schemeIdUri="urn:mpeg:dash:role:2011" value="subtitle" />',
        "\t\t\t<Label>English</Label>",
        '\t\t\t<Representation id="text-en" bandwidth="256">',
        "\t\t\t\t<BaseURL>/v/abc/captions/en.vtt</BaseURL>",
        "\t\t\t</Representation>",
        "\t\t</AdaptationSet>",
      ].join("\n"),
    );
    expect(sets[3]).toContain('<AdaptationSet id="3" contentType="text" mimeType="text/vtt" lang="pt-BR">');
  });

  it("escapes labels and URLs for XML and marks captions with the caption role", () => {
    expect(sets[3]).toContain("<Label>Português &quot;BR&quot; &amp; &lt;co&gt;</Label>");
    expect(sets[3]).toContain("<BaseURL>/v/abc/captions/pt-BR.vtt?a=1&amp;b=2</BaseURL>");
    expect(sets[3]).toContain('value="caption"');
  });

  it("keeps the rest of the manifest as it was, inside the one Period", () => {
    const added = mpd.length - FFMPEG_MPD.length;
    expect(mpd.replace(/\n\t\t<AdaptationSet id="[23]" contentType="text"[\s\S]*?<\/AdaptationSet>/g, "")).toBe(
      FFMPEG_MPD,
    );
    expect(added).toBeGreaterThan(0);
    expect(mpd.indexOf('lang="pt-BR"')).toBeLessThan(mpd.indexOf("</Period>"));
    expect(mpd.match(/<Period\b/g)).toHaveLength(1);
  });

  it("returns the manifest unchanged without tracks", () => {
    expect(mpdWithCaptions(FFMPEG_MPD, [])).toBe(FFMPEG_MPD);
  });
});

describe("hlsMasterWithCaptions", () => {
  const master = hlsMasterWithCaptions(FFMPEG_HLS_MASTER, [
    { lang: "en", label: "English", url: captionPlaylistName("en") },
    { lang: "en-GB", label: "English", url: captionPlaylistName("en-GB"), kind: "captions" },
  ]);
  const lines = master.split("\n");

  it("adds a SUBTITLES rendition per track, with unique names, before the first variant", () => {
    const subtitles = lines.filter((l) => l.startsWith("#EXT-X-MEDIA:TYPE=SUBTITLES"));
    expect(subtitles).toEqual([
      `#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="${HLS_SUBTITLE_GROUP}",NAME="English",LANGUAGE="en",DEFAULT=NO,AUTOSELECT=YES,FORCED=NO,URI="captions_en.m3u8"`,
      `#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="English (en-GB)",LANGUAGE="en-GB",DEFAULT=NO,AUTOSELECT=YES,FORCED=NO,CHARACTERISTICS="public.accessibility.transcribes-spoken-dialog,public.accessibility.describes-music-and-sound",URI="captions_en-GB.m3u8"`,
    ]);
    expect(lines.findIndex((l) => l.startsWith("#EXT-X-MEDIA:TYPE=SUBTITLES"))).toBeLessThan(
      lines.findIndex((l) => l.startsWith("#EXT-X-STREAM-INF")),
    );
    expect(lines.filter((l) => l.startsWith("#EXT-X-MEDIA:TYPE=AUDIO"))).toHaveLength(1);
  });

  it("points every variant at the subtitle group, once", () => {
    const variants = lines.filter((l) => l.startsWith("#EXT-X-STREAM-INF:"));
    expect(variants).toHaveLength(2);
    for (const v of variants) expect(v.endsWith(',AUDIO="group_A1",SUBTITLES="subs"')).toBe(true);
    expect(hlsMasterWithCaptions(master, [{ lang: "de", label: "German", url: "captions_de.m3u8" }])).not.toContain(
      'SUBTITLES="subs",SUBTITLES',
    );
  });

  it("keeps quotes and line breaks out of quoted strings", () => {
    const out = hlsMasterWithCaptions(FFMPEG_HLS_MASTER, [{ lang: "fr", label: 'Le "bon"\nfr', url: "c.m3u8" }]);
    expect(out).toContain(`NAME="Le 'bon' fr"`);
  });

  it("returns the master unchanged without tracks", () => {
    expect(hlsMasterWithCaptions(FFMPEG_HLS_MASTER, [])).toBe(FFMPEG_HLS_MASTER);
  });
});

describe("hlsCaptionPlaylist", () => {
  it("is a VOD playlist with the whole file as one segment, target duration rounded up", () => {
    expect(hlsCaptionPlaylist("captions_en.vtt", 10.02)).toBe(
      [
        "#EXTM3U",
        "#EXT-X-VERSION:3",
        "#EXT-X-TARGETDURATION:11",
        "#EXT-X-MEDIA-SEQUENCE:0",
        "#EXT-X-PLAYLIST-TYPE:VOD",
        "#EXTINF:10.020,",
        "captions_en.vtt",
        "#EXT-X-ENDLIST",
        "",
      ].join("\n"),
    );
    expect(hlsCaptionPlaylist("x.vtt", 10)).toContain("#EXT-X-TARGETDURATION:10\n");
  });
});

describe("vttWithTimestampMap", () => {
  it("puts X-TIMESTAMP-MAP first in the header, replacing an existing one", () => {
    expect(vttWithTimestampMap("WEBVTT\n\n00:01.000 --> 00:02.000\nhi\n")).toBe(
      "WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:0,LOCAL:00:00:00.000\n\n00:01.000 --> 00:02.000\nhi\n",
    );
    expect(
      vttWithTimestampMap(
        "WEBVTT title\nKind: captions\nX-TIMESTAMP-MAP=MPEGTS:900000,LOCAL:00:00:00.000\n\nNOTE x\n",
        6000,
      ),
    ).toBe("WEBVTT title\nX-TIMESTAMP-MAP=MPEGTS:6000,LOCAL:00:00:00.000\nKind: captions\n\nNOTE x\n");
    expect(vttWithTimestampMap("WEBVTT")).toBe("WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:0,LOCAL:00:00:00.000");
  });
});
