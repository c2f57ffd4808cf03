import { describe, expect, it } from "vitest";
import { DEV_PLAYBACK_SIGNING_KEYS } from "../../app/settings";
import { mintPlaybackToken, parseSigningKeys } from "../../playback/tokens";
import { expectRefusal } from "../../security/bad-input.helpers";
import type { VideoJson } from "../../testing/api";
import { callApp, signedInUser } from "../../testing/api";
import { seedReadyVideo, tinyMp4 } from "../../testing/seed";
import { seedStoryboard, viewerFixture } from "../../testing/viewer";

const ip = () => ({ "cf-connecting-ip": `192.0.2.${Math.floor(Math.random() * 250)}` });
const get = (path: string, headers: Record<string, string> = {}, vars?: Record<string, string>) =>
  callApp(path, { headers: { ...ip(), ...headers } }, undefined, vars);
const bytes = async (res: Response) => new Uint8Array(await res.arrayBuffer());

async function owner() {
  const user = await signedInUser();
  return { ...user, headers: { ...user.auth, ...ip() } };
}

/** A ready video (720p, 480p, audio) whose encode stored the downloads; `downloadable` as given. */
async function withDownloads(overrides: Parameters<typeof seedReadyVideo>[0] = {}) {
  const video = await seedReadyVideo(overrides);
  await seedStoryboard(video);
  return video;
}

const setDownloadable = (who: { headers: Record<string, string> }, id: string, downloadable: unknown) =>
  callApp(`/api/videos/${id}/`, {
    method: "PATCH",
    headers: { ...who.headers, "content-type": "application/json" },
    body: JSON.stringify({ downloadable }),
  });

describe("downloads", () => {
  it("are off by default: 404, and downloadable false in the JSON", async () => {
    const v = await withDownloads();
    const json = (await (await get(`/api/videos/${v.id}/`)).json()) as VideoJson;
    expect(json.downloadable).toBe(false);
    await expectRefusal(await get(`/v/${v.id}/download/720p.mp4`), 404, "not_found");
    await expectRefusal(await get(`/v/${v.id}/download/audio.m4a`), 404, "not_found");
  });

  it("serve each rung's MP4 and the M4A as attachments once the owner allows it, with Range", async () => {
    const a = await owner();
    const v = await withDownloads({ ownerId: a.id, slug: `holiday-${crypto.randomUUID().slice(0, 6)}` });
    const patched = await setDownloadable(a, v.id, true);
    expect(patched.status).toBe(200);
    expect(((await patched.json()) as VideoJson).downloadable).toBe(true);

    const mp4 = await get(`/v/${v.id}/download/720p.mp4`, { origin: "https://elsewhere.example" });
    expect(mp4.status).toBe(200);
    expect(mp4.headers.get("content-type")).toBe("video/mp4");
    expect(mp4.headers.get("content-disposition")).toBe(`attachment; filename="${v.slug}-720p.mp4"`);
    expect(mp4.headers.get("accept-ranges")).toBe("bytes");
    expect(mp4.headers.get("access-control-expose-headers")).toMatch(/Content-Disposition/);
    expect(await bytes(mp4)).toEqual(tinyMp4());

    const part = await get(`/v/${v.id}/download/480p.mp4`, { range: "bytes=4-7" });
    expect(part.status).toBe(206);
    expect(part.headers.get("content-range")).toBe(`bytes 4-7/${tinyMp4().byteLength}`);
    expect(new TextDecoder().decode(await bytes(part))).toBe("ftyp");

    const m4a = await get(`/v/${v.id}/download/audio.m4a`);
    expect(m4a.headers.get("content-type")).toBe("audio/mp4");
    expect(m4a.headers.get("content-disposition")).toBe(`attachment; filename="${v.slug}-audio.m4a"`);
    expect(await bytes(m4a)).toEqual(viewerFixture("audio.m4a"));

    // Turned off again: gone at once.
    await setDownloadable(a, v.id, false);
    await expectRefusal(await get(`/v/${v.id}/download/720p.mp4`), 404, "not_found");
  });

  it("are 404 for a rung the encode did not store, and for names that are no download", async () => {
    const a = await owner();
    const v = await withDownloads({ ownerId: a.id });
    await setDownloadable(a, v.id, true);
    for (const file of [
      "1080p.mp4",
      "0720p.mp4",
      "720p.m4a",
      "audio.mp4",
      "download-720p.mp4",
      "720.mp4",
      "..%2F720p.mp4",
    ]) {
      await expectRefusal(await get(`/v/${v.id}/download/${file}`), 404, "not_found");
    }
  });

  it("are never served by the other playback paths, which would skip the owner's choice", async () => {
    const v = await withDownloads();
    for (const path of [
      `/v/${v.id}/download-720p.mp4`,
      `/v/${v.id}/${v.version}/download-720p.mp4`,
      `/v/${v.id}/${v.version}/download-audio.m4a`,
    ]) {
      await expectRefusal(await get(path), 404, "not_found");
    }
  });

  it("follow the signed-path rules for a private video, and count against the streaming limit", async () => {
    const a = await owner();
    const v = await withDownloads({ ownerId: a.id, visibility: "private" });
    await setDownloadable(a, v.id, true);
    await expectRefusal(await get(`/v/${v.id}/download/720p.mp4`), 404, "not_found");
    const b = await owner();
    await expectRefusal(await get(`/v/${v.id}/download/720p.mp4`, b.auth), 404, "not_found");
    // Its owner's key opens it, as every playback file of the video.
    expect((await get(`/v/${v.id}/download/720p.mp4`, a.auth)).status).toBe(200);
    const token = await mintPlaybackToken(
      parseSigningKeys(DEV_PLAYBACK_SIGNING_KEYS),
      v.id,
      Math.floor(Date.now() / 1000) + 600,
    );
    const signed = await get(`/v/${v.id}/t/${token}/download/audio.m4a`);
    expect(signed.status).toBe(200);
    expect(signed.headers.get("cache-control")).toBe("private, max-age=300");

    const limited = { "cf-connecting-ip": `198.18.0.${Math.floor(Math.random() * 250)}` };
    const vars = { RATE_LIMIT_STREAM_PER_HOUR: "1" };
    expect((await get(`/v/${v.id}/t/${token}/download/audio.m4a`, limited, vars)).status).toBe(200);
    await expectRefusal(await get(`/v/${v.id}/t/${token}/download/audio.m4a`, limited, vars), 429, "rate_limited");
  });

  it("refuses a downloadable that is not true or false", async () => {
    const a = await owner();
    const v = await withDownloads({ ownerId: a.id });
    await expectRefusal(await setDownloadable(a, v.id, "yes"), 400, "validation_error");
  });
});
