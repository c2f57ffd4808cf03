/** Rows for Worker tests, written through the same schema the app uses. */
import { env } from "cloudflare:workers";
import { createDb } from "../db/client";
import { users, type Video, videos } from "../db/schema";
import { createR2Store } from "../storage/r2";
import type { ObjectStore } from "../storage/store";

export const testDb = () => createDb(env.DB);

export async function seedUser(name = `user${crypto.randomUUID().slice(0, 8)}`) {
  const id = crypto.randomUUID();
  await testDb()
    .insert(users)
    .values({ id, username: name, email: `${name}@example.com`, passwordHash: "pbkdf2_sha256$1$x$y" });
  return { id, username: name };
}

export async function seedVideo(overrides: Partial<Video> = {}) {
  const owner = overrides.ownerId ? { id: overrides.ownerId } : await seedUser();
  const id = overrides.id ?? crypto.randomUUID();
  const row = {
    id,
    slug: overrides.slug ?? `video-${id.slice(0, 8)}`,
    ownerId: owner.id,
    title: overrides.title ?? "A test video",
    status: overrides.status ?? ("queued" as const),
    ...overrides,
  };
  await testDb().insert(videos).values(row);
  return row;
}

/** The one-second MP4 fixture (test/fixtures/tiny.mp4). */
export function tinyMp4(): Uint8Array {
  const b64 = (env as unknown as { TEST_TINY_MP4: string }).TEST_TINY_MP4;
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

export async function sha256(bytes: ArrayBuffer | Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * A ready video with a small but complete set of outputs under its version, in the R2 binding or
 * in `options.store`.
 */
export async function seedReadyVideo(overrides: Partial<Video> = {}, options: { store?: ObjectStore } = {}) {
  const { renditions } = await import("../db/schema");
  const version = overrides.version ?? `v${crypto.randomUUID().slice(0, 8)}`;
  const video = await seedVideo({
    status: "ready",
    progress: 100,
    duration: 8,
    width: 1280,
    height: 720,
    ...overrides,
    version,
  });
  await testDb()
    .insert(renditions)
    .values([
      {
        videoId: video.id,
        version,
        representationId: "0",
        kind: "video",
        width: 1280,
        height: 720,
        bandwidth: 3_000_000,
        codecs: "avc1.640020",
      },
      {
        videoId: video.id,
        version,
        representationId: "1",
        kind: "video",
        width: 854,
        height: 480,
        bandwidth: 1_200_000,
        codecs: "avc1.64001e",
      },
      {
        videoId: video.id,
        version,
        representationId: "2",
        kind: "audio",
        width: null,
        height: null,
        bandwidth: 128_000,
        codecs: "mp4a.40.2",
      },
    ]);
  const prefix = `videos/${video.id}/${version}/`;
  const files: Record<string, string | Uint8Array> = {
    "manifest.mpd": '<?xml version="1.0"?>\n<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static"><Period/></MPD>',
    "master.m3u8": "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=3000000\nmedia_0.m3u8\n",
    "media_0.m3u8": '#EXTM3U\n#EXT-X-MAP:URI="init-0.m4s"\n#EXTINF:4,\nchunk-0-00001.m4s\n',
    "init-0.m4s": new Uint8Array(100).fill(1),
    "chunk-0-00001.m4s": Uint8Array.from({ length: 1000 }, (_, i) => i % 256),
    "poster.jpg": new Uint8Array([0xff, 0xd8, 0xff, 0xe0]),
  };
  const store = options.store ?? createR2Store(env.MEDIA);
  for (const [name, body] of Object.entries(files)) await store.put(`${prefix}${name}`, body);
  return { ...video, version, prefix, files };
}
