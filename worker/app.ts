import { createApp } from "./lib/create-app";
import { registerDocs } from "./routes/docs/docs.index";
import { healthRouter } from "./routes/health/health.index";

/** The whole HTTP API: every feature router mounted on the app, and the docs built from them. */
export function buildApp() {
  const app = createApp();
  app.route("/", healthRouter);
  registerDocs(app);
  return app;
}

export const app = buildApp();
