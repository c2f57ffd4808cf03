import { swaggerUI } from "@hono/swagger-ui";
import { createRouter } from "../../app/create-app";
import type { AppOpenAPI } from "../../app/types";

/** Where scripts/vendor-assets.mjs puts the viewers' files inside the static assets. */
export const VENDOR_BASE = "/vendor";

export const OPENAPI_INFO = {
  openapi: "3.1.0",
  info: {
    title: "StreamBuddy Edge API",
    version: "1.0.0",
    description:
      "Upload videos, follow their transcoding, and stream them as MPEG-DASH or HLS. " +
      'Errors always answer `{"error": {"code", "message", "details?", "requestId"}}`.',
    // OpenAPI 3.1 wants an SPDX identifier (or a URL) beside the name; validators refuse the name alone.
    license: { name: "MIT", identifier: "MIT" },
  },
} as const;

const redocPage = (specUrl: string) => `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>StreamBuddy Edge API — ReDoc</title>
    <style>body { margin: 0; padding: 0; }</style>
  </head>
  <body>
    <redoc spec-url="${specUrl}" hide-download-button="false"></redoc>
    <script src="${VENDOR_BASE}/redoc/redoc.standalone.js"></script>
  </body>
</html>`;

/**
 * `/openapi.json` (OpenAPI 3.1, from the routes themselves), `/swagger/` and `/redoc/`.
 * Both viewers load their scripts from this deployment's own static assets, never a CDN.
 */
export function registerDocs(app: AppOpenAPI) {
  app.doc31("/openapi.json", OPENAPI_INFO);
  const docs = createRouter();
  docs.get(
    "/swagger",
    swaggerUI({ url: "/openapi.json", baseUrl: VENDOR_BASE, title: "StreamBuddy Edge API — Swagger UI" }),
  );
  docs.get("/redoc", (c) => c.html(redocPage("/openapi.json")));
  app.route("/", docs);
}
