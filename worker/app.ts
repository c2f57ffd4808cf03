import { createApp } from "./lib/create-app";
import { registerDocs } from "./routes/docs/docs.index";
import { healthRouter } from "./routes/health/health.index";
import { internalRouter } from "./routes/internal/internal.index";

/** The whole HTTP API: every feature router mounted on the app, and the docs built from them. */
export function buildApp() {
  const app = createApp();
  app.route("/", healthRouter);
  app.route("/", internalRouter);
  registerDocs(app);
  return app;
}

export const app = buildApp();
