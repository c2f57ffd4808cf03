import type { Context } from "hono";
import { contentTypeOf, OUTPUT_FILE_NAME } from "../../../shared/protocol";
import { runAfterResponse } from "../../app/background";
import { ApiError } from "../../app/errors";
import type { AppEnv } from "../../app/types";
import type { Video } from "../../db/schema";
import { m3u8WithPrefix, mpdWithBaseUrl } from "../../playback/manifests";
import { parseSigningKeys, verifyPlaybackToken } from "../../playback/tokens";
import { serveObject } from "../../storage/index";
import { versionPrefix } from "../../storage/keys";
import { findVideo } from "../../videos/videos.data";

type C = Context<AppEnv>;

export const MANIFESTS = new Set(["manifest.mpd", "master.m3u8"]);
const IMMUTABLE = "public, max-age=31536000, immutable";

const notFound = () => new ApiError("not_found", "No such video file");

/** The ready video behind a playback path, or 404 (private videos need the signed path). */
async function playableVideo(c: C, id: string, token: string | undefined): Promise<Video & { version: string }> {
  const video = await findVideo(c.var.db, id);
  if (!video || video.id !== id || !video.version) throw notFound();
  c.var.logger.annotate({ videoId: video.id });
  if (token !== undefined) {
    const keys = parseSigningKeys(c.var.settings.playback.signingKeys);
    const check = await verifyPlaybackToken(keys, video.id, token);
    if (check === "expired") throw new ApiError("forbidden", "This playback link has expired");
    if (check !== "valid") throw new ApiError("forbidden", "This playback link is not valid");
  } else if (video.visibility === "private") {
    throw notFound();
  }
  return video as Video & { version: string };
}

function checkName(name: string) {
  if (!OUTPUT_FILE_NAME.test(name)) throw notFound();
}

/**
 * `/v/{id}/{file}` and `/v/{id}/t/{token}/{file}`: manifests are pointed at the current version's
 * folder; other files are served from the current version with a short cache.
 */
export async function serveCurrent(c: C) {
  const { id, file, token } = c.req.param() as { id: string; file: string; token?: string };
  checkName(file);
  const video = await playableVideo(c, id, token);
  const key = `${versionPrefix(video.id, video.version)}${file}`;
  const privateCache = token !== undefined || video.visibility === "private";
  if (MANIFESTS.has(file)) {
    const object = await c.var.services.storage.get(key);
    if (!object) throw notFound();
    const text = await object.text();
    const body = file.endsWith(".mpd")
      ? mpdWithBaseUrl(text, `${video.version}/`)
      : m3u8WithPrefix(text, `${video.version}/`);
    return new Response(c.req.method === "HEAD" ? null : body, {
      headers: {
        "content-type": contentTypeOf(file),
        "cache-control": privateCache ? "private, max-age=60" : "public, max-age=60",
        etag: `"${video.version}-${object.etag}"`,
      },
    });
  }
  const res = await serveObject(c.var.services.storage, key, c.req.raw, {
    contentType: contentTypeOf(file),
    cacheControl: privateCache ? "private, max-age=300" : "public, max-age=300",
  });
  if (!res) throw notFound();
  return res;
}

/**
 * `/v/{id}/{version}/{file}` (and signed): a file of one version. Its bytes never change, so it is
 * cacheable for a year; public files are also kept in the Cache API in front of storage.
 */
export async function serveVersioned(c: C) {
  const { id, version, file, token } = c.req.param() as { id: string; version: string; file: string; token?: string };
  checkName(file);
  const video = await playableVideo(c, id, token);
  if (version !== video.version) throw notFound();
  const key = `${versionPrefix(video.id, version)}${file}`;
  const isPublic = token === undefined && video.visibility !== "private";
  const cacheable = isPublic && c.req.method === "GET" && !c.req.header("range") && !c.req.header("if-none-match");
  const cache = cacheable ? await openCache() : undefined;
  if (cache) {
    const hit = await cache.match(c.req.url);
    if (hit) return hit;
  }
  const res = await serveObject(c.var.services.storage, key, c.req.raw, {
    contentType: contentTypeOf(file),
    cacheControl: isPublic ? IMMUTABLE : "private, max-age=31536000, immutable",
  });
  if (!res) throw notFound();
  if (cache && res.status === 200) {
    const [forCache, forClient] = teeResponse(res);
    void runAfterResponse(c, "cache put", cache.put(c.req.url, forCache));
    return forClient;
  }
  return res;
}

async function openCache(): Promise<Cache | undefined> {
  try {
    return typeof caches === "undefined" ? undefined : caches.default;
  } catch {
    return undefined;
  }
}

function teeResponse(res: Response): [Response, Response] {
  const [a, b] = res.body ? res.body.tee() : [null, null];
  const init = { status: res.status, headers: res.headers };
  return [new Response(a, init), new Response(b, init)];
}
