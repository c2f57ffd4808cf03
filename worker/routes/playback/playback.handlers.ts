import type { Context } from "hono";
import { DOWNLOAD_FILE_NAME } from "../../../shared/download-names";
import { contentTypeOf, MEDIA_SEGMENT_NAME, OUTPUT_FILE_NAME } from "../../../shared/protocol";
import { runAfterResponse } from "../../app/background";
import { ApiError } from "../../app/errors";
import type { AppEnv } from "../../app/types";

import { captionsOf } from "../../captions/captions.data";
import { isManifestName } from "../../playback/manifests";
import { stillEncoding, waitForObject } from "../../playback/segment-wait";
import { servedHlsMaster, servedMpd } from "../../playback/served-manifests";
import { manifestCacheControl } from "../../playback/served-version";
import { serveText } from "../../playback/text-response";
import { serveObject } from "../../storage/index";
import { versionPrefix } from "../../storage/keys";
import { prioritiseForViewer } from "../../transcode/watched";
import { playingVideo } from "../../videos/access";
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
  const { video, served } = await playingVideo(c, id, token);
  const key = `${versionPrefix(video.id, served.version)}${file}`;
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
      ? servedMpd(text, `${served.version}/`, captions)
      : servedHlsMaster(text, `${served.version}/`, captions, audio);
    // The ETag is the served text's own: it changes when a caption track comes or goes, and when
    // the finished manifests replace a provisional version's predicted ones.
    return serveText(c.req.raw, body, {
      contentType: contentTypeOf(file),
      cacheControl: manifestCacheControl(privateCache, served.provisional),
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
  const { video, served } = await playingVideo(c, id, token);
  if (version !== served.version) throw notFound();
  const key = `${versionPrefix(video.id, version)}${file}`;
  const isPublic = token === undefined && video.visibility !== "private";
  // A provisional version's manifests are predicted and replaced when it is finished; every
  // other file of a version is stored once, final.
  const final = !(served.provisional && isManifestName(file));
  const cacheable =
    final && isPublic && c.req.method === "GET" && !c.req.header("range") && !c.req.header("if-none-match");
  const cache = cacheable ? await openCache() : undefined;
  if (cache) {
    const hit = await cache.match(c.req.url);
    if (hit) return hit;
  }
  const options = {
    contentType: contentTypeOf(file),
    cacheControl: !final
      ? manifestCacheControl(!isPublic, true)
      : isPublic
        ? IMMUTABLE
        : "private, max-age=31536000, immutable",
  };
  let res = await serveObject(c.var.services.storage, key, c.req.raw, options);
  if (!res && served.jobId && MEDIA_SEGMENT_NAME.test(file)) {
    res = await segmentWhenStored(c, served.jobId, key, options);
  }
  if (!res) throw notFound();
  if (cache && res.status === 200) {
    const [forCache, forClient] = teeResponse(res);
    void runAfterResponse(c, "cache put", cache.put(c.req.url, forCache));
    return forClient;
  }
  return res;
}

/**
 * A segment of a version still being made, not stored yet: the unit that makes it goes first if
 * it waits for a runner, and the request waits a few seconds for it (segment-wait.ts), then
 * answers 503 so the player asks again.
 */
async function segmentWhenStored(
  c: C,
  jobId: string,
  key: string,
  options: { contentType: string; cacheControl: string },
): Promise<Response> {
  const { db, logger, settings, services } = c.var;
  const file = key.slice(key.lastIndexOf("/") + 1);
  await prioritiseForViewer({ db, logger }, jobId, file);
  const stored = await waitForObject(services.storage, key, {
    timeoutMs: settings.playback.segmentWaitSeconds * 1000,
    signal: c.req.raw.signal,
  });
  const res = stored ? await serveObject(services.storage, key, c.req.raw, options) : null;
  if (!res) throw stillEncoding();
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
