import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { DEV_PLAYBACK_SIGNING_KEYS } from "../../app/settings";
import { videos } from "../../db/schema";
import { mintPlaybackToken, parseSigningKeys } from "../../playback/tokens";
import { captionKey } from "../../storage/keys";
import type { VideoJson } from "../../testing/api";
import { callApp, signedInUser } from "../../testing/api";
import { FFMPEG_MPD } from "../../testing/ffmpeg-manifests";
import { testDb } from "../../testing/seed";
import { ENGLISH_VTT, seedPlayableVideo } from "../../testing/viewer";

interface CaptionJson {
  lang: string;
  label: string;
  kind: string;
  url: string | null;
  size: number;
  cues?: number;
}

const ip = () => ({ "cf-connecting-ip": `203.0.113.${Math.floor(Math.random() * 250)}` });

async function owner() {
  const user = await signedInUser();
  return { ...user, headers: { ...user.auth, ...ip() } };
}

const put = (
  who: { headers: Record<string, string> },
  id: string,
  lang: string,
  body: string,
  { type = "text/vtt", query = "" } = {},
) =>
  callApp(`/api/videos/${id}/captions/${lang}/${query}`, {
    method: "PUT",
    headers: { ...who.headers, "content-type": type },
    body,
  });

const get = (path: string, headers: Record<string, string> = {}) => callApp(path, { headers: { ...ip(), ...headers } });

describe("PUT /api/videos/{id}/captions/{lang}/", () => {
  it("adds a WebVTT track: stored with the timestamp map beside the versions, listed, in the video's JSON", async () => {
    const a = await owner();
    const v = await seedPlayableVideo({ ownerId: a.id });
    const res = await put(a, v.id, "en-us", ENGLISH_VTT);
    expect(res.status).toBe(201);
    const added = (await res.json()) as CaptionJson;
    expect(added).toMatchObject({ lang: "en-US", label: "American English", kind: "subtitles", cues: 2 });
    expect(added.url).toBe(`http://api.test/v/${v.id}/captions_en-US.vtt`);

    const stored = await env.MEDIA.get(captionKey(v.id, "en-US"));
    const text = (await stored?.text()) ?? "";
    expect(text.split("\n").slice(0, 2)).toEqual(["WEBVTT", "X-TIMESTAMP-MAP=MPEGTS:0,LOCAL:00:00:00.000"]);
    expect(text).toContain("00:00:04.000 --> 00:00:06.000 align:start\nThe second cue");
    expect(stored?.size).toBe(added.size);
    // Beside the versions, not inside one: a new version does not replace it.
    expect(captionKey(v.id, "en-US")).toBe(`videos/${v.id}/captions/en-US.vtt`);

    const list = (await (await get(`/api/videos/${v.id}/captions/`)).json()) as { results: CaptionJson[] };
    expect(list.results.map((t) => [t.lang, t.label])).toEqual([["en-US", "American English"]]);
    const video = (await (await get(`/api/videos/${v.id}/`)).json()) as VideoJson;
    expect(video.captions).toEqual([{ lang: "en-US", label: "American English", url: added.url }]);
  });

  it("converts SRT to WebVTT, by Content-Type or by the file's first line", async () => {
    const a = await owner();
    const v = await seedPlayableVideo({ ownerId: a.id });
    const srt =
      "1\r\n00:00:01,000 --> 00:00:02,000\r\n<i>Hallo</i> &\r\n\r\n2\r\n00:00:03,5 --> 00:00:04,000\r\nWelt\r\n";
    for (const [lang, type] of [
      ["de", "application/x-subrip"],
      ["de-AT", "text/plain"],
    ] as const) {
      const res = await put(a, v.id, lang, srt, { type });
      expect(res.status, lang).toBe(201);
      expect(((await res.json()) as CaptionJson).cues).toBe(2);
      const text = (await (await env.MEDIA.get(captionKey(v.id, lang)))?.text()) ?? "";
      expect(text).toContain("00:00:01.000 --> 00:00:02.000\n<i>Hallo</i> &amp;");
      expect(text).toContain("00:00:03.500 --> 00:00:04.000\nWelt");
    }
  });

  it("replaces a track of the same language (200), with the label and kind asked for", async () => {
    const a = await owner();
    const v = await seedPlayableVideo({ ownerId: a.id });
    expect((await put(a, v.id, "fr", ENGLISH_VTT)).status).toBe(201);
    const again = await put(a, v.id, "FR", "WEBVTT\n\n00:00:00.000 --> 00:00:01.000\nBonjour\n", {
      query: `?label=${encodeURIComponent("Français (SDH)")}&kind=captions`,
    });
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ lang: "fr", label: "Français (SDH)", kind: "captions", cues: 1 });
    const list = (await (await get(`/api/videos/${v.id}/captions/`)).json()) as { results: CaptionJson[] };
    expect(list.results).toHaveLength(1);
    expect(await (await env.MEDIA.get(captionKey(v.id, "fr")))?.text()).toContain("Bonjour");
  });

  it("accepts a well-formed tag that names no registered language, as BCP 47's syntax allows", async () => {
    const a = await owner();
    const v = await seedPlayableVideo({ ownerId: a.id });
    const res = await put(a, v.id, "qaa-x-klingon", ENGLISH_VTT);
    expect(res.status).toBe(201);
    expect(((await res.json()) as CaptionJson).lang).toBe("qaa-x-klingon");
  });
});

describe("caption tracks in the served manifests", () => {
  it("adds a text/vtt AdaptationSet to the MPD and a SUBTITLES group to the HLS master, and changes their ETags", async () => {
    const a = await owner();
    const v = await seedPlayableVideo({ ownerId: a.id });
    const mpdBefore = await get(`/v/${v.id}/manifest.mpd`);
    const hlsBefore = await get(`/v/${v.id}/master.m3u8`);
    const mpdTag = mpdBefore.headers.get("etag") ?? "";
    const hlsTag = hlsBefore.headers.get("etag") ?? "";
    expect(await mpdBefore.text()).not.toContain('contentType="text"');
    // Unchanged manifests answer 304 to a client that has them.
    expect((await get(`/v/${v.id}/manifest.mpd`, { "if-none-match": mpdTag })).status).toBe(304);

    await put(a, v.id, "en", ENGLISH_VTT);
    await put(a, v.id, "de", "WEBVTT\n\n00:00:00.500 --> 00:00:01.500\nHallo\n", { query: "?label=Deutsch" });

    const mpd = await get(`/v/${v.id}/manifest.mpd`, { "if-none-match": mpdTag });
    expect(mpd.status).toBe(200);
    expect(mpd.headers.get("etag")).not.toBe(mpdTag);
    const mpdText = await mpd.text();
    expect(mpdText).toContain(`<BaseURL>${v.version}/</BaseURL>`);
    expect(mpdText).toMatch(/<AdaptationSet id="2" contentType="text" mimeType="text\/vtt" lang="de">/);
    expect(mpdText).toContain("<Label>Deutsch</Label>");
    // The version's BaseURL points into its folder; the track steps back out to the stable path.
    expect(mpdText).toContain("<BaseURL>../captions_en.vtt</BaseURL>");

    const hls = await get(`/v/${v.id}/master.m3u8`, { "if-none-match": hlsTag });
    expect(hls.status).toBe(200);
    expect(hls.headers.get("etag")).not.toBe(hlsTag);
    const master = await hls.text();
    expect(master).toContain(
      '#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="English",LANGUAGE="en",DEFAULT=NO,AUTOSELECT=YES,FORCED=NO,URI="captions_en.m3u8"',
    );
    expect(master).toContain(`RESOLUTION=1280x720,CODECS="avc1.64001f,mp4a.40.2",AUDIO="group_A1",SUBTITLES="subs"`);
    // The audio-only variant, with the audio's own bandwidth and codecs.
    expect(master).toContain(
      `#EXT-X-STREAM-INF:BANDWIDTH=128000,CODECS="mp4a.40.2",SUBTITLES="subs"\n${v.version}/media_2.m3u8`,
    );

    const playlist = await get(`/v/${v.id}/captions_en.m3u8`);
    expect(playlist.headers.get("content-type")).toBe("application/vnd.apple.mpegurl");
    expect(await playlist.text()).toBe(
      "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:8\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXTINF:8.000,\ncaptions_en.vtt\n#EXT-X-ENDLIST\n",
    );
    const vtt = await get(`/v/${v.id}/captions_en.vtt`);
    expect(vtt.status).toBe(200);
    expect(vtt.headers.get("content-type")).toBe("text/vtt; charset=utf-8");
    expect(vtt.headers.get("cache-control")).toBe("public, max-age=60");
    expect(vtt.headers.get("access-control-allow-origin")).toBe("*");
    expect(await vtt.text()).toMatch(/^WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:0,LOCAL:00:00:00.000\n/);
    const part = await get(`/v/${v.id}/captions_en.vtt`, { range: "bytes=0-5" });
    expect(part.status).toBe(206);
    expect(await part.text()).toBe("WEBVTT");

    // The MPD the API answers itself carries the tracks too, with absolute URLs that resolve alike.
    const api = await get(`/api/videos/${v.id}/?format=mpd`);
    const apiMpd = await api.text();
    expect(apiMpd).toContain(`<BaseURL>http://api.test/v/${v.id}/${v.version}/</BaseURL>`);
    expect(new URL("../captions_en.vtt", `http://api.test/v/${v.id}/${v.version}/`).pathname).toBe(
      `/v/${v.id}/captions_en.vtt`,
    );
    expect(apiMpd).toContain("<BaseURL>../captions_en.vtt</BaseURL>");
  });

  it("takes a removed track out of the manifests; its files answer 404", async () => {
    const a = await owner();
    const v = await seedPlayableVideo({ ownerId: a.id });
    await put(a, v.id, "en", ENGLISH_VTT);
    const withTrack = await get(`/v/${v.id}/master.m3u8`);
    expect(await withTrack.text()).toContain("SUBTITLES");
    const del = await callApp(`/api/videos/${v.id}/captions/EN/`, { method: "DELETE", headers: a.headers });
    expect(del.status).toBe(204);
    const after = await get(`/v/${v.id}/master.m3u8`);
    expect(after.headers.get("etag")).not.toBe(withTrack.headers.get("etag"));
    expect(await after.text()).not.toContain("SUBTITLES");
    expect((await get(`/v/${v.id}/captions_en.vtt`)).status).toBe(404);
    expect((await get(`/v/${v.id}/captions_en.m3u8`)).status).toBe(404);
    expect(await env.MEDIA.head(captionKey(v.id, "en"))).toBeNull();
  });

  it("keeps the tracks when a new version replaces the served one", async () => {
    const a = await owner();
    const v = await seedPlayableVideo({ ownerId: a.id });
    await put(a, v.id, "en", ENGLISH_VTT);
    // The new version's files, then the video flipped to it as a completion does.
    await env.MEDIA.put(`videos/${v.id}/vnext/manifest.mpd`, FFMPEG_MPD);
    await testDb().update(videos).set({ version: "vnext" }).where(eq(videos.id, v.id));
    const mpd = await (await get(`/v/${v.id}/manifest.mpd`)).text();
    expect(mpd).toContain("<BaseURL>vnext/</BaseURL>");
    expect(mpd).toContain("<BaseURL>../captions_en.vtt</BaseURL>");
    expect((await get(`/v/${v.id}/captions_en.vtt`)).status).toBe(200);
  });

  it("serves a private video's tracks under its signed path, whose manifests point at them", async () => {
    const a = await owner();
    const v = await seedPlayableVideo({ ownerId: a.id, visibility: "private" });
    await put(a, v.id, "en", ENGLISH_VTT);
    // The owner sees signed URLs in the JSON.
    const listed = (await (await get(`/api/videos/${v.id}/captions/`, a.auth)).json()) as { results: CaptionJson[] };
    expect(listed.results[0]?.url).toMatch(new RegExp(`/v/${v.id}/t/[^/]+/captions_en\\.vtt$`));
    expect((await get(`/v/${v.id}/captions_en.vtt`)).status).toBe(404);
    const token = await mintPlaybackToken(
      parseSigningKeys(DEV_PLAYBACK_SIGNING_KEYS),
      v.id,
      Math.floor(Date.now() / 1000) + 600,
    );
    const vtt = await get(`/v/${v.id}/t/${token}/captions_en.vtt`);
    expect(vtt.status).toBe(200);
    expect(vtt.headers.get("cache-control")).toBe("private, max-age=60");
    expect((await get(`/v/${v.id}/t/${token}/captions_en.m3u8`)).status).toBe(200);
    const master = await (await get(`/v/${v.id}/t/${token}/master.m3u8`)).text();
    expect(new URL("captions_en.m3u8", `http://api.test/v/${v.id}/t/${token}/master.m3u8`).pathname).toBe(
      `/v/${v.id}/t/${token}/captions_en.m3u8`,
    );
    expect(master).toContain('URI="captions_en.m3u8"');
  });
});

describe("a deleted video's captions", () => {
  it("go with it: the files and the rows", async () => {
    const a = await owner();
    const v = await seedPlayableVideo({ ownerId: a.id });
    await put(a, v.id, "en", ENGLISH_VTT);
    const del = await callApp(`/api/videos/${v.id}/`, { method: "DELETE", headers: a.headers });
    expect(del.status).toBe(204);
    expect(await env.MEDIA.head(captionKey(v.id, "en"))).toBeNull();
    const rows = await env.DB.prepare("SELECT count(*) AS n FROM captions WHERE video_id = ?").bind(v.id).first();
    expect(rows).toEqual({ n: 0 });
  });
});
