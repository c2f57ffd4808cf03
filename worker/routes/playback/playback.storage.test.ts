/**
 * Playback from either storage backend: the same answers whether the outputs are in the R2
 * binding or in an S3-compatible bucket (the test S3 server), and storage failures as the
 * platform's own errors.
 */
import { describe, expect, it } from "vitest";
import { callApp } from "../../testing/api";
import { seedReadyVideo } from "../../testing/seed";
import { appBackends, s3Vars } from "../../testing/storage";

describe.each(appBackends())("playback from the $name backend", ({ vars, store }) => {
  const get = (path: string, headers: Record<string, string> = {}, method = "GET") =>
    callApp(path, { method, headers }, undefined, vars);

  it("serves the MPD and the HLS master pointed at the current version", async () => {
    const v = await seedReadyVideo({}, { store });
    const mpd = await get(`/v/${v.id}/manifest.mpd`);
    expect(mpd.status).toBe(200);
    expect(mpd.headers.get("content-type")).toBe("application/dash+xml");
    expect(await mpd.text()).toContain(`<BaseURL>${v.version}/</BaseURL>`);
    const master = await get(`/v/${v.id}/master.m3u8`);
    expect(await master.text()).toContain(`${v.version}/media_0.m3u8`);
  });

  it("serves a segment whole, by range, as 304 for its ETag, and as HEAD", async () => {
    const v = await seedReadyVideo({}, { store });
    const path = `/v/${v.id}/${v.version}/chunk-0-00001.m4s`;
    const whole = await get(path);
    expect(whole.status).toBe(200);
    expect(whole.headers.get("content-type")).toBe("video/iso.segment");
    expect(whole.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect(new Uint8Array(await whole.arrayBuffer())).toEqual(v.files["chunk-0-00001.m4s"]);
    const etag = whole.headers.get("etag") ?? "";
    expect(etag).toMatch(/^"[^"]+"$/);

    const part = await get(path, { range: "bytes=100-109" });
    expect(part.status).toBe(206);
    expect(part.headers.get("content-range")).toBe("bytes 100-109/1000");
    expect([...new Uint8Array(await part.arrayBuffer())]).toEqual([100, 101, 102, 103, 104, 105, 106, 107, 108, 109]);

    const unchanged = await get(path, { "if-none-match": etag });
    expect(unchanged.status).toBe(304);

    const head = await get(path, {}, "HEAD");
    expect(head.status).toBe(200);
    expect(head.headers.get("content-length")).toBe("1000");

    const past = await get(path, { range: "bytes=5000-" });
    expect(past.status).toBe(416);
    expect(past.headers.get("content-range")).toBe("bytes */1000");
  });

  it("answers 404 in the envelope, never 500, for a file the video lacks in storage", async () => {
    const v = await seedReadyVideo({}, { store });
    await store.delete([`${v.prefix}manifest.mpd`, `${v.prefix}init-0.m4s`]);
    for (const path of [`/v/${v.id}/manifest.mpd`, `/v/${v.id}/${v.version}/init-0.m4s`]) {
      const res = await get(path);
      expect(res.status, path).toBe(404);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("not_found");
    }
    const ranged = await get(`/v/${v.id}/${v.version}/init-0.m4s`, { range: "bytes=0-9" });
    expect(ranged.status).toBe(404);
  });
});

describe("playback when the S3 bucket cannot be reached", () => {
  it("answers 503 with Retry-After in the envelope", async () => {
    const v = await seedReadyVideo();
    const vars = { ...s3Vars(), S3_ENDPOINT: "http://127.0.0.1:9" };
    const res = await callApp(`/v/${v.id}/${v.version}/init-0.m4s`, {}, undefined, vars);
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBeTruthy();
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("service_unavailable");
    expect(body.error.message).not.toMatch(/127\.0\.0\.1|<Error>/);
  });
});
