/**
 * Paths, ranges and playback tokens built to escape: traversal in every path parameter of the API,
 * the uploads, the playback files and the internal job API; Range headers that are malformed or
 * impossible; signed playback paths with broken, foreign or expired tokens. Each is refused with
 * the right status in the error envelope (or, for a malformed Range, ignored as HTTP says), opens
 * nothing it should not, and stores nothing.
 */
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { videos } from "../db/schema";
import { mintPlaybackToken, parseSigningKeys } from "../playback/tokens";
import { sourceKey } from "../storage/keys";
import { callApp, recordingQueue, signedInUser, uniqueIp } from "../testing/api";
import { TUS, tusMetadata } from "../testing/http";
import { seedReadyVideo, testDb, tinyMp4 } from "../testing/seed";
import { seedClaimedUnit } from "../testing/units";
import { seedViewerFeatures } from "../testing/viewer";
import { expectHealthy, expectNothingStored, expectRefusal } from "./bad-input.helpers";

const SOURCE = Uint8Array.from({ length: 1000 }, (_, i) => (i * 7) % 256);
const SIGNING_KEYS = "k2:second-signing-key-0123456789,k1:first-signing-key-0123456789";
const VARS = { PLAYBACK_SIGNING_KEYS: SIGNING_KEYS };
const [K2, K1] = parseSigningKeys(SIGNING_KEYS) as [{ id: string; secret: string }, { id: string; secret: string }];

let owner: Awaited<ReturnType<typeof signedInUser>>;
let ownerAuth: Record<string, string>;
let publicVideo: Awaited<ReturnType<typeof seedReadyVideo>>;
let privateVideo: Awaited<ReturnType<typeof seedReadyVideo>>;
let uploadId: string;

/** A GET (or other method) from a fresh client address, with the test's signing keys. */
const send = (path: string, init: RequestInit = {}) =>
  callApp(
    path,
    { ...init, headers: { "cf-connecting-ip": uniqueIp(), ...(init.headers as Record<string, string>) } },
    recordingQueue().queue,
    VARS,
  );

const inAnHour = () => Math.floor(Date.now() / 1000) + 3600;
const tokenFor = (videoId: string, expiresAt = inAnHour(), keys = [K2, K1]) =>
  mintPlaybackToken(keys, videoId, expiresAt);

async function sourceBytes(videoId: string) {
  const object = await env.MEDIA.get(sourceKey(videoId));
  return object ? new Uint8Array(await object.arrayBuffer()) : null;
}

beforeAll(async () => {
  owner = await signedInUser();
  ownerAuth = { authorization: `Token ${owner.key}` };
  publicVideo = await seedReadyVideo({ ownerId: owner.user.id, filename: "clip.mp4" });
  privateVideo = await seedReadyVideo({ ownerId: owner.user.id, visibility: "private" });
  await env.MEDIA.put(sourceKey(publicVideo.id), SOURCE);
  await env.MEDIA.put(sourceKey(privateVideo.id), SOURCE);
  const created = await callApp(
    "/api/uploads/",
    {
      method: "POST",
      headers: {
        ...ownerAuth,
        ...TUS,
        "upload-length": "100000",
        "upload-metadata": tusMetadata({ title: "In progress", filetype: "video/mp4" }),
      },
    },
    recordingQueue().queue,
  );
  expect(created.status).toBe(201);
  uploadId = created.headers.get("video-id") ?? "";
});

describe("path traversal in /api/videos/{id}/…", () => {
  const cases: [string, string, () => string, BodyInit?][] = [
    ["GET", "dot-dot slashes", () => "/api/videos/..%2F..%2Fetc%2Fpasswd/"],
    ["GET", "encoded dot-dot", () => "/api/videos/%2e%2e/source/"],
    ["GET", "a NUL after the id", () => `/api/videos/${publicVideo.id}%00/source/`],
    ["GET", "backslashes", () => `/api/videos/..%5C..%5C${publicVideo.id}/source/`],
    ["GET", "a slash and dot-dots after the id", () => `/api/videos/${publicVideo.id}%2F..%2F..%2Fsources/source/`],
    ["PATCH", "dot-dot before the id", () => `/api/videos/..%2F${publicVideo.id}/`, '{"title": "Moved"}'],
    ["DELETE", "encoded dot-dot before the id", () => `/api/videos/%2e%2e%2F${publicVideo.id}/`],
    ["POST", "a NUL in a playback-token path", () => `/api/videos/${privateVideo.id}%00/playback-token/`, "{}"],
    ["POST", "dot-slash in a reprocess path", () => `/api/videos/.%2F${publicVideo.id}/reprocess/`, "{}"],
  ];

  it.each(cases)("answers %s with %s with 404, touching nothing", async (method, _, path, body) => {
    await expectNothingStored(async () => {
      const headers = { ...ownerAuth, ...(body ? { "content-type": "application/json" } : {}) };
      await expectRefusal(await send(path(), { method, headers, body }), 404, "not_found");
    });
    const row = await env.DB.prepare("SELECT title FROM videos WHERE id = ?")
      .bind(publicVideo.id)
      .first<{ title: string }>();
    expect(row?.title).toBe(publicVideo.title);
    expect(await sourceBytes(publicVideo.id)).toEqual(SOURCE);
  });
});

describe("path traversal in /api/uploads/{id}", () => {
  const cases: [string, string, () => string][] = [
    ["PATCH", "dot-dot before the id", () => `/api/uploads/..%2F${uploadId}`],
    ["DELETE", "a NUL", () => "/api/uploads/%00"],
    ["PATCH", "a backslash and dot-dot after the id", () => `/api/uploads/${uploadId}%5C..`],
    ["DELETE", "dot-dots into the outputs", () => `/api/uploads/..%2F..%2Fvideos%2F${publicVideo.id}`],
  ];

  it.each(cases)("answers %s with %s with 404, touching nothing", async (method, _, path) => {
    await expectNothingStored(async () => {
      const res = await send(path(), {
        method,
        headers: { ...ownerAuth, ...TUS, "upload-offset": "0", "content-type": "application/offset+octet-stream" },
        body: method === "PATCH" ? tinyMp4().slice(0, 1024) : undefined,
      });
      await expectRefusal(res, 404, "not_found");
    });
    const head = await callApp(`/api/uploads/${uploadId}`, { method: "HEAD", headers: { ...ownerAuth, ...TUS } });
    expect(head.headers.get("upload-offset")).toBe("0");
  });
});

describe("path traversal in /v/{id}/…", () => {
  const cases: [string, () => string][] = [
    ["dot-dots into the sources", () => `/v/${publicVideo.id}/..%2F..%2Fsources%2F${publicVideo.id}`],
    ["an encoded dot-dot slash", () => `/v/${publicVideo.id}/%2e%2e%2fmanifest.mpd`],
    ["a backslash", () => `/v/${publicVideo.id}/..%5Cmanifest.mpd`],
    ["a NUL after the name", () => `/v/${publicVideo.id}/manifest.mpd%00`],
    ["a NUL after the id", () => `/v/${publicVideo.id}%00/manifest.mpd`],
    [
      "dot-dots from a version folder",
      () => `/v/${publicVideo.id}/${publicVideo.version}/..%2F..%2F..%2Fsources%2F${publicVideo.id}`,
    ],
    ["a version made of dot-dots", () => `/v/${publicVideo.id}/..%2F${publicVideo.version}/init-0.m4s`],
    ["dot-dot segments up to the root", () => `/v/%2e%2e/%2e%2e/sources/${publicVideo.id}`],
    ["another video's version folder", () => `/v/${publicVideo.id}/${privateVideo.version}/init-0.m4s`],
    ["a private video without a token", () => `/v/${privateVideo.id}/${privateVideo.version}/init-0.m4s`],
  ];

  it.each(cases)("answers %s with 404", async (_, path) => {
    await expectRefusal(await send(path()), 404, "not_found");
  });
});

describe("path traversal in /v/{id}/t/{token}/…", () => {
  const cases: [string, number, string, (token: string) => string][] = [
    [
      "dot-dots into the sources",
      404,
      "not_found",
      (t) => `/v/${privateVideo.id}/t/${t}/..%2F..%2Fsources%2F${privateVideo.id}`,
    ],
    ["encoded dot-dot slashes", 404, "not_found", (t) => `/v/${privateVideo.id}/t/${t}/%2e%2e%2f%2e%2e%2fmaster.m3u8`],
    [
      "a NUL name in the version folder",
      404,
      "not_found",
      (t) => `/v/${privateVideo.id}/t/${t}/${privateVideo.version}/%00.m4s`,
    ],
    ["dot-dots as the token", 403, "forbidden", () => `/v/${privateVideo.id}/t/..%2F..%2F/manifest.mpd`],
  ];

  it.each(cases)("answers %s with %i", async (_, status, code, path) => {
    await expectRefusal(await send(path(await tokenFor(privateVideo.id))), status, code);
  });
});

describe("path traversal in the captions, storyboards, downloads and embeds", () => {
  // Every file these paths could name exists, so a refusal is the path's doing.
  beforeAll(async () => {
    await seedViewerFeatures(publicVideo);
    await testDb().update(videos).set({ downloadable: true }).where(eq(videos.id, privateVideo.id));
  });

  const reads: [string, () => string][] = [
    [
      "dot-dots in a caption file name",
      () => `/v/${publicVideo.id}/captions_..%2F..%2Fsources%2F${publicVideo.id}.vtt`,
    ],
    ["a slash inside a caption tag", () => `/v/${publicVideo.id}/captions_en-US%2F..%2F..%2Fsource.vtt`],
    ["a NUL in a caption tag", () => `/v/${publicVideo.id}/captions_en%00-US.vtt`],
    ["a caption file of a private video without a token", () => `/v/${privateVideo.id}/captions_en-US.vtt`],
    ["dot-dots as a download", () => `/v/${publicVideo.id}/download/..%2F..%2F..%2Fsources%2F${publicVideo.id}`],
    ["an encoded dot-dot slash before a download", () => `/v/${publicVideo.id}/download/%2e%2e%2f720p.mp4`],
    ["a stored name as a download", () => `/v/${publicVideo.id}/download/manifest.mpd`],
    ["a NUL after a download", () => `/v/${publicVideo.id}/download/720p.mp4%00`],
    ["a private video's download without a token", () => `/v/${privateVideo.id}/download/720p.mp4`],
    ["dot-dots before an embed", () => `/embed/..%2F${publicVideo.id}`],
    ["a private video's embed without a token", () => `/embed/${privateVideo.id}`],
  ];

  it.each(reads)("answers %s with 404", async (_, path) => {
    await expectRefusal(await send(path()), 404, "not_found");
  });

  it.each([
    ["dot-dots", "..%2F..%2Fsources"],
    ["a NUL", "en%00"],
    ["a backslash", "en%5C..%5Cx"],
    ["an encoded dot-dot slash", "%2e%2e%2fen"],
  ])("refuses a caption tag with %s with 400, storing nothing", async (_, tag) => {
    await expectNothingStored(async () => {
      const res = await send(`/api/videos/${publicVideo.id}/captions/${tag}/`, {
        method: "PUT",
        headers: { ...ownerAuth, "content-type": "text/vtt" },
        body: "WEBVTT\n\n00:00:00.000 --> 00:00:01.000\nx\n",
      });
      await expectRefusal(res, 400, "validation_error");
    });
  });

  it.each(["..%2F..%2F1", "1%00", "1;rm", "0x10", "1/../../2", "%2e%2e"])(
    "refuses the thumbnail time %s with 400",
    async (time) => {
      await expectRefusal(await send(`/v/${publicVideo.id}/thumbnail.jpg?time=${time}`), 400, "validation_error");
    },
  );
});

describe("path traversal in /internal/units/{unit}/files/{name}", () => {
  let job: { id: string; videoId: string; token: string };
  beforeAll(async () => {
    const claimed = await seedClaimedUnit({}, SOURCE);
    job = { id: claimed.unitId, videoId: claimed.video.id, token: claimed.token };
  });

  const cases: [string, number, string, () => string][] = [
    ["dot-dots onto the source", 400, "bad_request", () => `..%2F..%2F..%2F..%2Fsources%2F${job.videoId}`],
    ["a backslash", 400, "bad_request", () => "..%5Cmanifest.mpd"],
    ["a NUL before the extension", 400, "bad_request", () => "manifest.mpd%00.jpg"],
    ["encoded dot-dot slashes", 400, "bad_request", () => "%2e%2e%2f%2e%2e%2fmanifest.mpd"],
    ["a hidden name", 400, "bad_request", () => ".hidden.mpd"],
    ["a dot-dot segment onto the source route", 405, "method_not_allowed", () => "%2e%2e/source"],
  ];

  it.each(cases)("refuses %s with %i, storing nothing", async (_, status, code, name) => {
    await expectNothingStored(async () => {
      const res = await send(`/internal/units/${job.id}/files/${name()}`, {
        method: "PUT",
        headers: { authorization: `Bearer ${job.token}` },
        body: "overwritten",
      });
      await expectRefusal(res, status, code);
    });
    expect(await sourceBytes(job.videoId)).toEqual(SOURCE);
  });

  it("refuses this unit's token on another unit's files with 401, storing nothing", async () => {
    const other = await seedClaimedUnit();
    await expectNothingStored(async () => {
      const res = await send(`/internal/units/${other.unitId}/files/manifest.mpd`, {
        method: "PUT",
        headers: { authorization: `Bearer ${job.token}` },
        body: "overwritten",
      });
      await expectRefusal(res, 401, "unauthorized");
    });
  });
});

describe("Range headers on playback files and on the source download", () => {
  const targets: [string, () => string][] = [
    ["a media segment", () => `/v/${publicVideo.id}/${publicVideo.version}/chunk-0-00001.m4s`],
    ["the source download", () => `/api/videos/${publicVideo.id}/source/`],
  ];

  describe.each(targets)("on %s", (_, path) => {
    // HTTP lets a server ignore a Range it cannot parse (or a multi-range set): the whole file, 200.
    it.each([
      ["negative numbers", "bytes=-5-10"],
      ["non-numeric positions", "bytes=abc-def"],
      ["a reversed range", "bytes=10-5"],
      ["several ranges", "bytes=0-1,5-6"],
      ["another unit", "items=0-5"],
      ["no positions", "bytes="],
    ])("ignores %s and sends the whole file", async (_, range) => {
      const res = await send(path(), { headers: { ...ownerAuth, range } });
      expect(res.status).toBe(200);
      expect(res.headers.get("content-range")).toBeNull();
      expect(res.headers.get("content-length")).toBe("1000");
      expect((await res.arrayBuffer()).byteLength).toBe(1000);
    });

    it.each([
      ["a start far past the end", "bytes=5000-"],
      ["a start exactly at the end", "bytes=1000-"],
      ["an empty suffix", "bytes=-0"],
      ["a start beyond 2^64", "bytes=99999999999999999999999-"],
    ])("refuses %s with 416 in the envelope, with Content-Range", async (_, range) => {
      const res = await send(path(), { headers: { ...ownerAuth, range } });
      expect(res.headers.get("content-range")).toBe("bytes */1000");
      await expectRefusal(res, 416, "range_not_satisfiable");
    });
  });
});

describe("playback tokens of every wrong shape", () => {
  const shapes: [string, () => Promise<string>][] = [
    ["not a token at all", async () => "nope"],
    ["a valid token cut short", async () => (await tokenFor(privateVideo.id)).slice(0, -1)],
    ["a valid token with a character more", async () => `${await tokenFor(privateVideo.id)}A`],
    [
      "a signature from another key id",
      async () => (await tokenFor(privateVideo.id, inAnHour(), [K1])).replace(/^k1\./, `${K2.id}.`),
    ],
    [
      "a key id that is not configured",
      async () =>
        mintPlaybackToken([{ id: "k9", secret: "not-a-configured-key-0123456789" }], privateVideo.id, inAnHour()),
    ],
    ["an expired token", async () => tokenFor(privateVideo.id, Math.floor(Date.now() / 1000) - 1)],
    ["another video's token", async () => tokenFor(publicVideo.id)],
    [
      "a later expiry under the old signature",
      async () => {
        const [kid, exp, sig] = (await tokenFor(privateVideo.id)).split(".") as [string, string, string];
        return `${kid}.${Number(exp) + 86_400}.${sig}`;
      },
    ],
    ["a 13-digit expiry", async () => (await tokenFor(privateVideo.id)).replace(/\.\d+\./, ".9999999999999.")],
    ["500 characters", async () => "A".repeat(500)],
    ["a NUL inside", async () => `${K2.id}.%00.${"A".repeat(43)}`],
  ];

  it.each(shapes)("refuses %s with 403 on manifests and segments", async (_, token) => {
    const t = await token();
    const manifest = await send(`/v/${privateVideo.id}/t/${t}/manifest.mpd`);
    await expectRefusal(manifest, 403, "forbidden");
    const segment = await send(`/v/${privateVideo.id}/t/${t}/${privateVideo.version}/init-0.m4s`);
    await expectRefusal(segment, 403, "forbidden");
  });

  it("plays with a valid token from either configured key (the refusals above are not blanket)", async () => {
    for (const keys of [[K2], [K1]]) {
      const t = await tokenFor(privateVideo.id, inAnHour(), keys);
      expect((await send(`/v/${privateVideo.id}/t/${t}/manifest.mpd`)).status).toBe(200);
      expect((await send(`/v/${privateVideo.id}/t/${t}/${privateVideo.version}/init-0.m4s`)).status).toBe(200);
    }
  });
});

describe("a video's text never reaches a header", () => {
  it("keeps a description with CR/LF and header lines in the JSON body only", async () => {
    const description = "Line one\r\nSet-Cookie: session=1\r\nLocation: http://evil.example\r\n\r\n<b>body</b>";
    const patched = await send(`/api/videos/${publicVideo.id}/`, {
      method: "PATCH",
      headers: { ...ownerAuth, "content-type": "application/json" },
      body: JSON.stringify({ description }),
    });
    expect(patched.status).toBe(200);
    const answers = [
      patched,
      await send(`/api/videos/${publicVideo.id}/`, { headers: ownerAuth }),
      await send(`/api/videos/?search=${encodeURIComponent(publicVideo.title)}`),
      await send(`/api/videos/${publicVideo.slug}/?format=mpd`),
      await send(`/v/${publicVideo.id}/manifest.mpd`),
      await send(`/api/videos/${publicVideo.id}/source/`, { headers: ownerAuth }),
    ];
    for (const res of answers) {
      expect(res.status).toBe(200);
      expect(res.headers.get("set-cookie")).toBeNull();
      expect(res.headers.get("location")).toBeNull();
    }
    const json = (await answers[1]?.json()) as { description: string };
    expect(json.description).toBe(description);
  });
});

describe("after every hostile request", () => {
  it("is healthy: /healthz answers and a key issued before still works", async () => {
    await expectHealthy(`Token ${owner.key}`);
  });
});
