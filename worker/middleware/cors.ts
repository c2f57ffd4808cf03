import type { MiddlewareHandler } from "hono";
import { cors } from "hono/cors";
import type { AppEnv } from "../app/types";

/** Methods and request headers a browser may use on the API, tus uploads included. */
export const API_CORS_ALLOW_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
export const API_CORS_ALLOW_HEADERS = [
  "Authorization",
  "Content-Type",
  "X-Request-Id",
  "Upload-Length",
  "Upload-Offset",
  "Upload-Metadata",
  "Upload-Defer-Length",
  "Upload-Concat",
  "Tus-Resumable",
  "X-HTTP-Method-Override",
];
/** Response headers a browser script may read. */
export const API_CORS_EXPOSE_HEADERS = [
  "RateLimit-Limit",
  "RateLimit-Remaining",
  "RateLimit-Reset",
  "RateLimit-Policy",
  "Retry-After",
  "X-Request-Id",
  "Location",
  "Upload-Offset",
  "Upload-Length",
  "Upload-Expires",
  "Tus-Resumable",
  "Tus-Version",
  "Tus-Extension",
  "Tus-Max-Size",
];
const MAX_AGE_SECONDS = 600;

const isPreflight = (method: string, headers: { origin?: string; requestMethod?: string }) =>
  method === "OPTIONS" && Boolean(headers.origin) && Boolean(headers.requestMethod);

/**
 * CORS for the API from `CORS_ALLOWED_ORIGINS`. A listed origin is echoed with credentials
 * allowed; `*` in the list allows any origin but never with credentials; any other origin gets no
 * CORS headers at all (its preflight is answered 204 without them, so the browser refuses).
 * Preflights are answered here, before authentication and rate limiting.
 *
 * @example
 * app.use("/api/*", apiCors());
 */
export function apiCors(): MiddlewareHandler<AppEnv> {
  const byOrigins = new Map<string, MiddlewareHandler>();
  const corsFor = (origins: string[]) => {
    const key = origins.join(",");
    let middleware = byOrigins.get(key);
    if (!middleware) {
      const anyOrigin = origins.includes("*");
      middleware = cors({
        origin: anyOrigin ? "*" : origins,
        credentials: !anyOrigin,
        allowMethods: API_CORS_ALLOW_METHODS,
        allowHeaders: API_CORS_ALLOW_HEADERS,
        exposeHeaders: API_CORS_EXPOSE_HEADERS,
        maxAge: MAX_AGE_SECONDS,
      });
      byOrigins.set(key, middleware);
    }
    return middleware;
  };

  return async function apiCors(c, next) {
    const origins = c.get("settings").corsAllowedOrigins;
    const origin = c.req.header("origin");
    const allowed = origin !== undefined && (origins.includes("*") || origins.includes(origin));
    if (allowed) return corsFor(origins)(c, next);
    const varyOnOrigin = !origins.includes("*");
    if (isPreflight(c.req.method, { origin, requestMethod: c.req.header("access-control-request-method") })) {
      return c.body(null, 204, varyOnOrigin ? { Vary: "Origin" } : {});
    }
    await next();
    if (varyOnOrigin) c.res.headers.append("Vary", "Origin");
  };
}

/** Request headers a player may send for playback files. */
export const PLAYBACK_CORS_ALLOW_HEADERS = ["Range", "If-None-Match", "If-Modified-Since", "Authorization"];
/** Response headers a player may read. */
export const PLAYBACK_CORS_EXPOSE_HEADERS = [
  "Content-Length",
  "Content-Range",
  "Accept-Ranges",
  "Content-Disposition",
  "ETag",
  "RateLimit-Remaining",
];

/**
 * CORS for playback (`/v/…`) from `PLAYBACK_ALLOWED_ORIGINS`: any origin by default, as hosted
 * video platforms do, so players embedded on other sites work; no credentials.
 *
 * @example
 * app.use("/v/*", playbackCors());
 */
export function playbackCors(): MiddlewareHandler<AppEnv> {
  const byOrigins = new Map<string, MiddlewareHandler>();
  return async function playbackCors(c, next) {
    const origins = c.var.settings.playbackAllowedOrigins;
    const key = origins.join(",");
    let middleware = byOrigins.get(key);
    if (!middleware) {
      middleware = cors({
        origin: origins.includes("*") ? "*" : origins,
        allowMethods: ["GET", "HEAD", "OPTIONS"],
        allowHeaders: PLAYBACK_CORS_ALLOW_HEADERS,
        exposeHeaders: PLAYBACK_CORS_EXPOSE_HEADERS,
        maxAge: 86400,
      });
      byOrigins.set(key, middleware);
    }
    return middleware(c, next);
  };
}
