import type { MiddlewareHandler } from "hono";
import { cors } from "hono/cors";
import { createRouter } from "../../app/create-app";
import type { AppEnv } from "../../app/types";
import { rateLimits } from "../../middleware/rate-limit";
import { ROUTE_RATE_LIMITS } from "../rate-limits";
import { serveCurrent, serveVersioned } from "./playback.handlers";

/**
 * Playback from storage at stable URLs: `/v/{id}/manifest.mpd`, `/v/{id}/master.m3u8`, `/v/{id}/{file}`,
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

// CORS first, so a 429 carries the CORS headers too.
playbackRouter.use("/v/*", playbackCors(), rateLimits(ROUTE_RATE_LIMITS));
playbackRouter.get("/v/:id/t/:token/:version/:file", serveVersioned);
playbackRouter.get("/v/:id/t/:token/:file", serveCurrent);
playbackRouter.get("/v/:id/:version/:file", serveVersioned);
playbackRouter.get("/v/:id/:file", serveCurrent);
