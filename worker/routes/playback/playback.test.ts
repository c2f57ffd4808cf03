import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { DEV_PLAYBACK_SIGNING_KEYS } from "../../app/settings";
import { mintPlaybackToken, parseSigningKeys } from "../../playback/tokens";
import { callApp } from "../../testing/api";
import { seedReadyVideo } from "../../testing/seed";

const get = (path: string, headers: Record<string, string> = {}, vars?: Record<string, string>) =>
  callApp(path, { headers }, undefined, vars);

const keys = parseSigningKeys(DEV_PLAYBACK_SIGNING_KEYS);
const token = (videoId: string, inSeconds = 3600) =>
  mintPlaybackToken(keys, videoId, Math.floor(Date.now() / 1000) + inSeconds);

describe("playback of a public video", () => {
  it("serves the MPD pointed at the current version, with its content type and a short cache", async () => {
    const v = await seedReadyVideo();
    const res = await get(`/v/${v.id}/manifest.mpd`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/dash+xml");
    expect(res.headers.get("cache-control")).toBe("public, max-age=60");
    expect(await res.text()).toContain(`<BaseURL>${v.version}/</BaseURL>`);
  });

  it("serves HLS playlists with their URIs under the current version", async () => {
    const v = await seedReadyVideo();
    const res = await get(`/v/${v.id}/master.m3u8`);
    expect(res.headers.get("content-type")).toBe("application/vnd.apple.mpegurl");
    expect(await res.text()).toContain(`${v.version}/media_0.m3u8`);
    const media = await get(`/v/${v.id}/${v.version}/media_0.m3u8`);
    expect(await media.text()).toContain('URI="init-0.m4s"');
  });

  it("serves versioned segments as immutable, with the right types", async () => {
    const v = await seedReadyVideo();
    const seg = await get(`/v/${v.id}/${v.version}/chunk-0-00001.m4s`);
    expect(seg.status).toBe(200);
    expect(seg.headers.get("content-type")).toBe("video/iso.segment");
    expect(seg.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect(seg.headers.get("content-length")).toBe("1000");
    const poster = await get(`/v/${v.id}/poster.jpg`);
    expect(poster.headers.get("content-type")).toBe("image/jpeg");
  });

  it("answers byte ranges with 206 and Content-Range, and impossible ones with 416", async () => {
    const v = await seedReadyVideo();
    const path = `/v/${v.id}/${v.version}/chunk-0-00001.m4s`;
    const part = await get(path, { range: "bytes=10-19" });
    expect(part.status).toBe(206);
    expect(part.headers.get("content-range")).toBe("bytes 10-19/1000");
    expect([...new Uint8Array(await part.arrayBuffer())]).toEqual([10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
    const past = await get(path, { range: "bytes=5000-" });
    expect(past.status).toBe(416);
    expect(past.headers.get("content-range")).toBe("bytes */1000");
  });

  it("answers a matching If-None-Match with 304", async () => {
    const v = await seedReadyVideo();
    const path = `/v/${v.id}/${v.version}/init-0.m4s`;
    const first = await get(path);
    const etag = first.headers.get("etag") ?? "";
    expect(etag).toMatch(/^".+"$/);
    const again = await get(path, { "if-none-match": etag });
    expect(again.status).toBe(304);
  });

  it("answers CORS preflight for Range from any origin and exposes the range headers", async () => {
    const v = await seedReadyVideo();
    const pre = await callApp(`/v/${v.id}/manifest.mpd`, {
      method: "OPTIONS",
      headers: {
        origin: "https://embed.example",
        "access-control-request-method": "GET",
        "access-control-request-headers": "range",
      },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get("access-control-allow-origin")).toBe("*");
    expect(pre.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("range");
    const res = await get(`/v/${v.id}/${v.version}/init-0.m4s`, { origin: "https://embed.example" });
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
    expect(res.headers.get("access-control-expose-headers")).toMatch(/Content-Length/);
    expect(res.headers.get("access-control-expose-headers")).toMatch(/Content-Range/);
  });

  it("limits origins when PLAYBACK_ALLOWED_ORIGINS says so", async () => {
    const v = await seedReadyVideo();
    const vars = { PLAYBACK_ALLOWED_ORIGINS: "https://mine.example" };
    const ok = await get(`/v/${v.id}/poster.jpg`, { origin: "https://mine.example" }, vars);
    expect(ok.headers.get("access-control-allow-origin")).toBe("https://mine.example");
    const other = await get(`/v/${v.id}/poster.jpg`, { origin: "https://evil.example" }, vars);
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
  });
});

describe("playback paths that must not open anything", () => {
  it.each([
    (id: string) => `/v/${id}/..%2F..%2Fsources%2F${id}`,
    (id: string) => `/v/${id}/%2e%2e/manifest.mpd`,
    (id: string) => `/v/${id}/..%5Cmanifest.mpd`,
    (id: string) => `/v/${id}/not-listed.exe`,
    (id: string) => `/v/${id}/.hidden.mpd`,
    (id: string) => `/v/${id}/vOLD/chunk-0-00001.m4s`,
    (id: string) => `/v/${id}/missing.m4s`,
    () => `/v/no-such-video/manifest.mpd`,
  ])("refuses %s", async (pathOf) => {
    const v = await seedReadyVideo();
    const res = await get(pathOf(v.id));
    expect([400, 404]).toContain(res.status);
  });

  it("never serves one video's files under another's id", async () => {
    const a = await seedReadyVideo();
    const b = await seedReadyVideo();
    expect((await get(`/v/${b.id}/${a.version}/init-0.m4s`)).status).toBe(404);
  });

  it("does not play a video that is not ready", async () => {
    const v = await seedReadyVideo({ status: "processing" });
    await env.DB.prepare("update videos set version = null where id = ?").bind(v.id).run();
    expect((await get(`/v/${v.id}/manifest.mpd`)).status).toBe(404);
  });
});

describe("private playback through signed paths", () => {
  it("is 404 without a token, and plays with a valid one (segments inherit the token's prefix)", async () => {
    const v = await seedReadyVideo({ visibility: "private" });
    expect((await get(`/v/${v.id}/manifest.mpd`)).status).toBe(404);
    expect((await get(`/v/${v.id}/${v.version}/init-0.m4s`)).status).toBe(404);
    const t = await token(v.id);
    const mpd = await get(`/v/${v.id}/t/${t}/manifest.mpd`);
    expect(mpd.status).toBe(200);
    expect(mpd.headers.get("cache-control")).toMatch(/^private/);
    const seg = await get(`/v/${v.id}/t/${t}/${v.version}/chunk-0-00001.m4s`);
    expect(seg.status).toBe(200);
    expect(seg.headers.get("cache-control")).toMatch(/^private/);
  });

  it("refuses expired, tampered and other-video tokens with 403", async () => {
    const v = await seedReadyVideo({ visibility: "private" });
    const other = await seedReadyVideo({ visibility: "private" });
    const expired = await token(v.id, -10);
    const good = await token(v.id);
    const [kid, exp, sig] = good.split(".") as [string, string, string];
    const tampered = `${kid}.${exp}.${sig.startsWith("A") ? "B" : "A"}${sig.slice(1)}`;
    const forOther = await token(other.id);
    for (const t of [expired, tampered, forOther, "dev.1.abc"]) {
      const res = await get(`/v/${v.id}/t/${t}/manifest.mpd`);
      expect(res.status, t).toBe(403);
    }
    const body = (await (await get(`/v/${v.id}/t/${expired}/manifest.mpd`)).json()) as { error: { message: string } };
    expect(body.error.message).toMatch(/expired/);
  });
});

describe("the streaming rate limit", () => {
  it("counts manifests but not media segments", async () => {
    const v = await seedReadyVideo();
    const vars = { RATE_LIMIT_STREAM_PER_HOUR: "2" };
    const ip = { "cf-connecting-ip": `198.51.100.${Math.floor(Math.random() * 200)}` };
    expect((await get(`/v/${v.id}/manifest.mpd`, ip, vars)).status).toBe(200);
    for (let i = 0; i < 5; i++) expect((await get(`/v/${v.id}/${v.version}/init-0.m4s`, ip, vars)).status).toBe(200);
    const second = await get(`/v/${v.id}/master.m3u8`, ip, vars);
    expect(second.status).toBe(200);
    expect(second.headers.get("ratelimit-remaining")).toBe("0");
    const third = await get(`/v/${v.id}/manifest.mpd`, ip, vars);
    expect(third.status).toBe(429);
    expect(third.headers.get("retry-after")).toMatch(/^\d+$/);
    expect((await get(`/v/${v.id}/${v.version}/chunk-0-00001.m4s`, ip, vars)).status).toBe(200);
  });
});
