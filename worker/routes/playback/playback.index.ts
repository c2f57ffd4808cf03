import type { MiddlewareHandler } from "hono";
import { cors } from "hono/cors";
import { createRouter } from "../../lib/create-app";
import { rateLimit } from "../../lib/rate-limit";
import type { AppEnv } from "../../lib/types";
import { isManifestName, serveCurrent, serveVersioned } from "./playback.handlers";

/**
 * Playback from R2 at stable URLs: `/v/{id}/manifest.mpd`, `/v/{id}/master.m3u8`, `/v/{id}/{file}`,
 * versioned files under `/v/{id}/{version}/`, and the same under `/v/{id}/t/{token}/` for private
 * videos. Any origin may play by default (PLAYBACK_ALLOWED_ORIGINS), as embedded players need.
 */
export const playbackRouter = createRouter();

function playbackCors(): MiddlewareHandler<AppEnv> {
  const byOrigins = new Map<string, MiddlewareHandler>();
  return async function playbackCors(c, next) {
    const origins = c.var.settings.playbackAllowedOrigins;
    const key = origins.join(",");
    let middleware = byOrigins.get(key);
    if (!middleware) {
      middleware = cors({
        origin: origins.includes("*") ? "*" : origins,
        allowMethods: ["GET", "HEAD", "OPTIONS"],
        allowHeaders: ["Range", "If-None-Match", "If-Modified-Since", "Authorization"],
        exposeHeaders: ["Content-Length", "Content-Range", "Accept-Ranges", "ETag", "RateLimit-Remaining"],
        maxAge: 86400,
      });
      byOrigins.set(key, middleware);
    }
    return middleware(c, next);
  };
}

/** The streaming limit on manifests and playlists; segments pass uncounted. */
function streamLimitOnManifests(): MiddlewareHandler<AppEnv> {
  const limited = rateLimit({ policy: "stream" });
  return async function streamLimitOnManifests(c, next) {
    const file = c.req.param("file") ?? "";
    return isManifestName(file) ? limited(c, next) : next();
  };
}

playbackRouter.use("/v/*", playbackCors());
playbackRouter.get("/v/:id/t/:token/:version/:file", serveVersioned);
playbackRouter.get("/v/:id/t/:token/:file", streamLimitOnManifests(), serveCurrent);
playbackRouter.get("/v/:id/:version/:file", serveVersioned);
playbackRouter.get("/v/:id/:file", streamLimitOnManifests(), serveCurrent);
