import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { DEV_PLAYBACK_SIGNING_KEYS } from "../../app/settings";
import { mintPlaybackToken, parseSigningKeys } from "../../playback/tokens";
import { expectRefusal } from "../../security/bad-input.helpers";
import type { VideoJson } from "../../testing/api";
import { callApp, signedInUser } from "../../testing/api";
import { seedReadyVideo } from "../../testing/seed";
import { FRAME_COLOURS, seedStoryboard, viewerFixture } from "../../testing/viewer";

const ip = () => ({ "cf-connecting-ip": `192.0.2.${Math.floor(Math.random() * 250)}` });
const get = (path: string, headers: Record<string, string> = {}) => callApp(path, { headers: { ...ip(), ...headers } });
const bytes = async (res: Response) => new Uint8Array(await res.arrayBuffer());

async function owner() {
  const user = await signedInUser();
  return { ...user, headers: { ...user.auth, ...ip() } };
}

/** A ready 8-second video with its storyboard (frames at 0, 2, 4 and 6 s). */
async function withStoryboard(overrides: Parameters<typeof seedReadyVideo>[0] = {}) {
  const video = await seedReadyVideo(overrides);
  await seedStoryboard(video);
  return video;
}

const patch = (who: { headers: Record<string, string> }, id: string, body: unknown) =>
  callApp(`/api/videos/${id}/`, {
    method: "PATCH",
    headers: { ...who.headers, "content-type": "application/json" },
    body: JSON.stringify(body),
  });

describe("GET /v/{id}/storyboard.vtt", () => {
  it("is a WebVTT index of the frames, each cue a tile of a sheet in the version's folder", async () => {
    const v = await withStoryboard();
    const res = await get(`/v/${v.id}/storyboard.vtt`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/vtt; charset=utf-8");
    expect(res.headers.get("cache-control")).toBe("public, max-age=60");
    expect(await res.text()).toBe(
      [
        "WEBVTT",
        "",
        "00:00:00.000 --> 00:00:02.000",
        `${v.version}/storyboard-0.jpg#xywh=0,0,160,90`,
        "",
        "00:00:02.000 --> 00:00:04.000",
        `${v.version}/storyboard-0.jpg#xywh=160,0,160,90`,
        "",
        "00:00:04.000 --> 00:00:06.000",
        `${v.version}/storyboard-0.jpg#xywh=320,0,160,90`,
        "",
        "00:00:06.000 --> 00:00:08.000",
        `${v.version}/storyboard-0.jpg#xywh=480,0,160,90`,
        "",
      ].join("\n"),
    );
    const again = await get(`/v/${v.id}/storyboard.vtt`, { "if-none-match": res.headers.get("etag") ?? "" });
    expect(again.status).toBe(304);
  });

  it("names its sheets so they resolve to the stored JPEG, cached as immutable", async () => {
    const v = await withStoryboard();
    const sheetUrl = new URL(`${v.version}/storyboard-0.jpg`, `http://api.test/v/${v.id}/storyboard.vtt`);
    const sheet = await get(sheetUrl.pathname);
    expect(sheet.status).toBe(200);
    expect(sheet.headers.get("content-type")).toBe("image/jpeg");
    expect(sheet.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect(await bytes(sheet)).toEqual(viewerFixture("sheet.jpg"));
  });

  it("is in the video's JSON as storyboard_url, and 404 for a version without one", async () => {
    const v = await withStoryboard();
    const json = (await (await get(`/api/videos/${v.id}/`)).json()) as VideoJson;
    expect(json.storyboard_url).toBe(`http://api.test/v/${v.id}/storyboard.vtt`);
    const plain = await seedReadyVideo();
    expect(((await (await get(`/api/videos/${plain.id}/`)).json()) as VideoJson).storyboard_url).toBeNull();
    await expectRefusal(await get(`/v/${plain.id}/storyboard.vtt`), 404, "not_found");
  });

  it("follows the signed-path rules: 404 for a private video without a token, served with one", async () => {
    const v = await withStoryboard({ visibility: "private" });
    await expectRefusal(await get(`/v/${v.id}/storyboard.vtt`), 404, "not_found");
    await expectRefusal(await get(`/v/${v.id}/thumbnail.jpg?time=1`), 404, "not_found");
    const token = await mintPlaybackToken(
      parseSigningKeys(DEV_PLAYBACK_SIGNING_KEYS),
      v.id,
      Math.floor(Date.now() / 1000) + 600,
    );
    const index = await get(`/v/${v.id}/t/${token}/storyboard.vtt`);
    expect(index.status).toBe(200);
    expect(index.headers.get("cache-control")).toBe("private, max-age=60");
    const sheet = new URL(`${v.version}/storyboard-0.jpg`, `http://api.test/v/${v.id}/t/${token}/storyboard.vtt`);
    expect((await get(sheet.pathname)).status).toBe(200);
    expect((await get(`/v/${v.id}/t/${token}/thumbnail.jpg?time=1`)).status).toBe(200);
    await expectRefusal(await get(`/v/${v.id}/t/not.a.token/storyboard.vtt`), 403, "forbidden");
  });
});

describe("GET /v/{id}/thumbnail.jpg?time=S&width=W", () => {
  it("answers the stored frame nearest the time, at the smallest width unless asked", async () => {
    const v = await withStoryboard();
    for (const [time, frame] of [
      ["0", 0],
      ["0.9", 0],
      ["1.1", 1],
      ["4.2", 2],
      ["6.99", 3],
      ["8", 3],
    ] as const) {
      const res = await get(`/v/${v.id}/thumbnail.jpg?time=${time}`);
      expect(res.status, time).toBe(200);
      expect(res.headers.get("content-type")).toBe("image/jpeg");
      expect(await bytes(res), time).toEqual(viewerFixture(`${FRAME_COLOURS[frame]}.jpg`));
    }
  });

  it("picks the stored width nearest the one asked for", async () => {
    const v = await withStoryboard();
    // At 640 frame k is stored as colour 3 - k.
    for (const width of ["640", "2000", "500"]) {
      const res = await get(`/v/${v.id}/thumbnail.jpg?time=2&width=${width}`);
      expect(await bytes(res), width).toEqual(viewerFixture(`${FRAME_COLOURS[2]}.jpg`));
    }
    expect(await bytes(await get(`/v/${v.id}/thumbnail.jpg?time=2&width=400`))).toEqual(
      viewerFixture(`${FRAME_COLOURS[1]}.jpg`),
    );
  });

  it("refuses a time past the end, or malformed, with 400 in the envelope", async () => {
    const v = await withStoryboard();
    const past = await expectRefusal(await get(`/v/${v.id}/thumbnail.jpg?time=8.5`), 400, "validation_error");
    expect(past.message).toMatch(/past the end of the video \(8 s\)/);
    expect(past.details).toEqual([expect.objectContaining({ path: "time" })]);
    for (const time of ["", "-1", "abc", "1e3", "NaN", "Infinity", "1,5", "%20"]) {
      const error = await expectRefusal(await get(`/v/${v.id}/thumbnail.jpg?time=${time}`), 400, "validation_error");
      expect(error.details, time).toEqual([expect.objectContaining({ path: "time" })]);
    }
    await expectRefusal(await get(`/v/${v.id}/thumbnail.jpg`), 400, "validation_error");
    for (const width of ["0", "-5", "wide", "99999999"]) {
      await expectRefusal(await get(`/v/${v.id}/thumbnail.jpg?time=1&width=${width}`), 400, "validation_error");
    }
  });

  it("is 404 for a version whose encode kept no frames", async () => {
    const v = await seedReadyVideo();
    await expectRefusal(await get(`/v/${v.id}/thumbnail.jpg?time=1`), 404, "not_found");
  });
});

describe("PATCH /api/videos/{id}/ {poster_time}", () => {
  it("points poster_url at the stored frame of that time, without an encode; null goes back", async () => {
    const a = await owner();
    const v = await withStoryboard({ ownerId: a.id });
    const before = await env.MEDIA.list({ prefix: `videos/${v.id}/` });
    const res = await patch(a, v.id, { poster_time: 4.2 });
    expect(res.status).toBe(200);
    const json = (await res.json()) as VideoJson;
    expect(json.poster_time).toBe(4.2);
    expect(json.poster_url).toBe(`http://api.test/v/${v.id}/thumbnail.jpg?time=4.2&width=640`);
    const poster = await get(new URL(json.poster_url ?? "").pathname + new URL(json.poster_url ?? "").search);
    expect(await bytes(poster)).toEqual(viewerFixture(`${FRAME_COLOURS[3 - 2]}.jpg`));
    // Nothing was written to storage: the frame was already there.
    expect((await env.MEDIA.list({ prefix: `videos/${v.id}/` })).objects.map((o) => o.key)).toEqual(
      before.objects.map((o) => o.key),
    );
    const listed = (await (await get("/api/videos/?page_size=100")).json()) as { results: VideoJson[] };
    expect(listed.results.find((r) => r.id === v.id)?.poster_url).toBe(json.poster_url);

    const reset = (await (await patch(a, v.id, { poster_time: null })).json()) as VideoJson;
    expect(reset.poster_time).toBeNull();
    expect(reset.poster_url).toBe(`http://api.test/v/${v.id}/poster.jpg`);
  });

  it("refuses a time past the end (400), a negative one (400), and a version without frames (409)", async () => {
    const a = await owner();
    const v = await withStoryboard({ ownerId: a.id });
    const past = await expectRefusal(await patch(a, v.id, { poster_time: 9 }), 400, "validation_error");
    expect(past.details).toEqual([expect.objectContaining({ path: "poster_time" })]);
    await expectRefusal(await patch(a, v.id, { poster_time: -1 }), 400, "validation_error");
    await expectRefusal(await patch(a, v.id, { poster_time: "soon" }), 400, "validation_error");
    const plain = await seedReadyVideo({ ownerId: a.id });
    await expectRefusal(await patch(a, plain.id, { poster_time: 1 }), 409, "conflict");
    const b = await owner();
    await expectRefusal(await patch(b, v.id, { poster_time: 1 }), 403, "forbidden");
  });
});
