import { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import { PatternRouter } from "hono/router/pattern-router";
import { createServices, type Services } from "../services";
import { StorageError } from "../storage/store";
import { ApiError, type ErrorCode, errorBody, statusToCode } from "./errors";
import { createLogger } from "./logger";
import { logSettingsError, SettingsError } from "./settings";
import type { AppEnv, AppOpenAPI } from "./types";

const METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const;

/**
 * A router whose validation failures answer in the error envelope: every router of the app comes
 * from here, so every 400 looks the same. `strict: false` makes `/path` and `/path/` one route.
 */
export function createRouter<E extends AppEnv = AppEnv>(): OpenAPIHono<E> {
  return new OpenAPIHono<E>({
    strict: false,
    defaultHook: (result) => {
      if (!result.success) {
        const details = result.error.issues.map((issue) => ({
          path: issue.path.join("."),
          message: issue.message,
          code: issue.code,
        }));
        const fields = details.map((d) => d.path || "(body)").join(", ");
        throw new ApiError("validation_error", `Invalid request: ${fields}`, { details });
      }
    },
  });
}

/** Answers an error in the envelope, with the request id and any extra headers. */
export function errorResponse(
  c: Context<AppEnv>,
  code: ErrorCode,
  message: string,
  options: { details?: unknown; headers?: Record<string, string>; status?: number } = {},
) {
  const status = (options.status ?? new ApiError(code, message).status) as 400;
  const res = c.json(errorBody(code, message, c.get("requestId") ?? "unknown", options.details), status);
  for (const [k, v] of Object.entries(options.headers ?? {})) res.headers.set(k, v);
  return res;
}

/**
 * A storage failure that reached a route, as the platform's own error: the bucket's XML, codes and
 * keys never reach the client. A missing object or upload is a 404; a bucket that cannot be
 * reached or is overloaded is a 503; anything else is our failure (500), logged with its code.
 */
function storageErrorResponse(c: Context<AppEnv>, err: StorageError) {
  if (err.status === 404) return errorResponse(c, "not_found", "No such object");
  if (err.status === 416) return errorResponse(c, "range_not_satisfiable", "The range lies outside the object");
  if (err.status === 501) return errorResponse(c, "not_implemented", err.message);
  const logger = c.get("logger") ?? createLogger();
  logger.error("storage error", { backend: err.backend, status: err.status, code: err.code, error: err.message });
  if (err.status === 503 || err.status === 429) {
    return errorResponse(c, "service_unavailable", "Storage is unavailable; try again shortly", {
      headers: { "Retry-After": "5" },
    });
  }
  return errorResponse(c, "internal_error", "Something went wrong on our side");
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/;

/**
 * The app: request ids, per-request services (built by `createServices`), one structured log line per
 * request, and the error envelope for thrown errors, 404 and 405.
 */
export function createApp(): AppOpenAPI {
  const app = createRouter();

  app.use("*", async function requestContext(c, next) {
    const incoming = c.req.header("x-request-id");
    const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID();
    c.set("requestId", requestId);
    let services: Services;
    try {
      services = createServices(c.env, { requestId });
    } catch (err) {
      if (!(err instanceof SettingsError)) throw err;
      // Production without its secrets would sign with development keys; a bad value would run
      // the platform on something nobody chose: refuse to serve, and say what to fix.
      logSettingsError(createLogger({ requestId }), err, "refusing to serve");
      return errorResponse(c, "service_unavailable", "The service is not configured yet", {
        headers: { "X-Request-Id": requestId },
      });
    }
    const { settings, logger, db } = services;
    c.set("services", services);
    c.set("settings", settings);
    c.set("logger", logger);
    c.set("db", db);
    const started = Date.now();
    await next();
    c.res.headers.set("X-Request-Id", requestId);
    const url = new URL(c.req.url);
    logger.info("request", {
      method: c.req.method,
      path: url.pathname,
      status: c.res.status,
      ms: Date.now() - started,
    });
  });

  // 405 when the path exists under another method; 404 otherwise. The method table is built
  // once, from the routes registered when the first unmatched request arrives.
  let routeTable: PatternRouter<string> | undefined;
  const allowedMethods = (path: string): string[] => {
    if (!routeTable) {
      routeTable = new PatternRouter<string>();
      for (const r of app.routes) if (r.method !== "ALL") routeTable.add(r.method, r.path, r.method);
    }
    const table = routeTable;
    const normalized = path.length > 1 ? path.replace(/\/+$/, "") : path;
    return METHODS.filter((m) => {
      const [hits] = table.match(m, normalized) as unknown as [[string, unknown][]];
      const [hitsSlash] = table.match(m, `${normalized}/`) as unknown as [[string, unknown][]];
      return hits.length > 0 || hitsSlash.length > 0;
    });
  };

  app.notFound((c) => {
    const path = new URL(c.req.url).pathname;
    const allowed = allowedMethods(path);
    if (allowed.length > 0) {
      return errorResponse(c, "method_not_allowed", `Method ${c.req.method} is not allowed on ${path}`, {
        headers: { Allow: allowed.join(", ") },
      });
    }
    return errorResponse(c, "not_found", `No route matches ${c.req.method} ${path}`);
  });

  app.onError((err, c) => {
    if (err instanceof ApiError) {
      return errorResponse(c, err.code, err.message, { details: err.details, headers: err.headers });
    }
    if (err instanceof StorageError) return storageErrorResponse(c, err);
    if (err instanceof HTTPException) {
      const malformedJson = err.status === 400 && /json/i.test(err.message);
      const code = malformedJson ? "invalid_json" : statusToCode(err.status);
      const message = malformedJson ? "The request body is not valid JSON" : err.message || code;
      return errorResponse(c, code, message, { status: err.status });
    }
    const logger = c.get("logger") ?? createLogger();
    logger.error("unhandled error", {
      error: err instanceof Error ? err.message : String(err),
      stack: err instanceof Error ? err.stack : undefined,
    });
    return errorResponse(c, "internal_error", "Something went wrong on our side");
  });

  return app;
}
