import type { Context } from "hono";
import { DOWNLOAD_FILE_NAME } from "../../../shared/download-names";
import { contentTypeOf, OUTPUT_FILE_NAME } from "../../../shared/protocol";
import { runAfterResponse } from "../../app/background";
import { ApiError } from "../../app/errors";
import type { AppEnv } from "../../app/types";

import { captionsOf } from "../../captions/captions.data";
import { servedHlsMaster, servedMpd } from "../../playback/served-manifests";
import { serveText } from "../../playback/text-response";
import { serveObject } from "../../storage/index";
import { versionPrefix } from "../../storage/keys";
import { playableVideo } from "../../videos/access";
import { renditionsOf } from "../../videos/videos.data";

type C = Context<AppEnv>;

export const MANIFESTS = new Set(["manifest.mpd", "master.m3u8"]);
const IMMUTABLE = "public, max-age=31536000, immutable";

const notFound = () => new ApiError("not_found", "No such video file");

/** A file these routes serve: an output name, but not a download, which only `download/…` serves (when allowed). */
function checkName(name: string) {
  if (!OUTPUT_FILE_NAME.test(name) || DOWNLOAD_FILE_NAME.test(name)) throw notFound();
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
    const [text, captions, rungs] = await Promise.all([
      object.text(),
      captionsOf(c.var.db, video.id),
      renditionsOf(c.var.db, video),
    ]);
    const audio = rungs.find((r) => r.kind === "audio") ?? null;
    const body = file.endsWith(".mpd")
      ? servedMpd(text, `${video.version}/`, captions)
      : servedHlsMaster(text, `${video.version}/`, captions, audio);
    // The ETag is the served text's own: it changes when a caption track comes or goes.
    return serveText(c.req.raw, body, {
      contentType: contentTypeOf(file),
      cacheControl: privateCache ? "private, max-age=60" : "public, max-age=60",
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
