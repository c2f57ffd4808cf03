import { createApp } from "./app/create-app";
import { registerSecuritySchemes } from "./app/openapi";
import { optionalUser } from "./middleware/auth";
import { jsonBodyLimit } from "./middleware/body-limit";
import { apiCors, playbackCors } from "./middleware/cors";
import { rateLimits } from "./middleware/rate-limit";
import { adminRouter } from "./routes/admin/admin.index";
import { authRouter } from "./routes/auth/auth.index";
import { captionsRouter } from "./routes/captions/captions.index";
import { configRouter } from "./routes/config/config.index";
import { directUploadsRouter } from "./routes/direct-uploads/direct-uploads.index";
import { registerDocs } from "./routes/docs/docs.index";
import { downloadsRouter } from "./routes/downloads/downloads.index";
import { embedRouter } from "./routes/embed/embed.index";
import { healthRouter } from "./routes/health/health.index";
import { importsRouter } from "./routes/imports/imports.index";
import { internalRouter } from "./routes/internal/internal.index";
import { playbackRouter } from "./routes/playback/playback.index";
import { ROUTE_RATE_LIMITS } from "./routes/rate-limits";
import { storyboardsRouter } from "./routes/storyboards/storyboards.index";
import { registerUploadDocs, uploadsRouter } from "./routes/uploads/uploads.index";
import { videosRouter } from "./routes/videos/videos.index";
import { webhooksRouter } from "./routes/webhooks/webhooks.index";

/** The whole HTTP API: every feature router mounted on the app, and the docs built from them. */
export function buildApp() {
  const app = createApp();
  // API calls: CORS first (preflights end there, and every later answer, 401 and 429 included,
  // carries the CORS headers); then the rate limits of routes/rate-limits.ts, which resolve the
  // caller to pick the user's or the client IP's counter (a bad key is counted against the IP
  // before its 401); optionalUser() then only makes `c.var.user` explicit for the routes.
  app.use("/api/*", apiCors(), rateLimits(ROUTE_RATE_LIMITS), optionalUser());
  // JSON bodies above MAX_JSON_BODY_BYTES are refused 413 before anything parses them.
  app.use("/api/*", jsonBodyLimit());
  // Playback, by every router with `/v/` routes: CORS first, so a 429 carries the CORS headers
  // too; the rate limits resolve a presented key (the owner of a private video may use it).
  app.use("/v/*", playbackCors(), rateLimits(ROUTE_RATE_LIMITS));
  registerSecuritySchemes(app);
  app.route("/", healthRouter);
  app.route("/", authRouter);
  app.route("/", configRouter);
  app.route("/", uploadsRouter);
  registerUploadDocs(app);
  app.route("/", directUploadsRouter);
  app.route("/", importsRouter);
  app.route("/", videosRouter);
  app.route("/", webhooksRouter);
  app.route("/", adminRouter);
  app.route("/", internalRouter);
  // The viewer features' playback files, before the generic playback routes that would take them.
  app.route("/", captionsRouter);
  app.route("/", storyboardsRouter);
  app.route("/", downloadsRouter);
  app.route("/", playbackRouter);
  app.route("/", embedRouter);
  registerDocs(app);
  return app;
}

export const app = buildApp();
