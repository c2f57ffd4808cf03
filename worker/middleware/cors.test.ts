import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createApp } from "../app/create-app";
import { apiClient } from "../testing/api";
import { optionalUser } from "./auth";
import { apiCors } from "./cors";
import { rateLimits } from "./rate-limit";

// The default CORS_ALLOWED_ORIGINS (wrangler.toml) lists the local web app's origins.
const ALLOWED = "http://localhost:8787";
const UNKNOWN = "https://evil.example";

const preflight = (origin: string, requestHeaders = "authorization, content-type, upload-length") =>
  apiClient().call("OPTIONS", "/api/auth/user/", {
    headers: {
      Origin: origin,
      "Access-Control-Request-Method": "PATCH",
      "Access-Control-Request-Headers": requestHeaders,
    },
  });

const list = (value: string | null) => (value ?? "").split(",").map((s) => s.trim().toLowerCase());

describe("CORS on the API", () => {
  it("answers a preflight from an allowed origin with 204 and what the API accepts", async () => {
    const res = await preflight(ALLOWED);
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe(ALLOWED);
    expect(res.headers.get("access-control-allow-credentials")).toBe("true");
    expect(list(res.headers.get("access-control-allow-methods"))).toEqual(
      expect.arrayContaining(["get", "post", "put", "patch", "delete"]),
    );
    expect(list(res.headers.get("access-control-allow-headers"))).toEqual(
      expect.arrayContaining([
        "authorization",
        "content-type",
        "upload-length",
        "upload-offset",
        "upload-metadata",
        "tus-resumable",
        "upload-concat",
      ]),
    );
    expect(res.headers.get("vary")).toContain("Origin");
    // Preflights are not counted against the rate limit.
    expect(res.headers.get("ratelimit-limit")).toBeNull();
  });

  it("gives an origin not on the list no CORS headers at all", async () => {
    const pre = await preflight(UNKNOWN);
    expect(pre.status).toBe(204);
    for (const name of [
      "access-control-allow-origin",
      "access-control-allow-credentials",
      "access-control-allow-methods",
      "access-control-allow-headers",
      "access-control-expose-headers",
    ]) {
      expect(pre.headers.get(name), name).toBeNull();
    }
    const res = await apiClient().call("GET", "/api/auth/user/", { headers: { Origin: UNKNOWN } });
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
    expect(res.headers.get("access-control-allow-credentials")).toBeNull();
    expect(res.headers.get("vary")).toContain("Origin");
  });

  it("lets an allowed origin read the rate-limit, request-id and tus headers, on errors too", async () => {
    const res = await apiClient().call("GET", "/api/auth/user/", { headers: { Origin: ALLOWED } });
    expect(res.status).toBe(401);
    expect(res.headers.get("access-control-allow-origin")).toBe(ALLOWED);
    expect(list(res.headers.get("access-control-expose-headers"))).toEqual(
      expect.arrayContaining([
        "ratelimit-limit",
        "ratelimit-remaining",
        "ratelimit-reset",
        "retry-after",
        "x-request-id",
        "location",
        "upload-offset",
        "upload-length",
        "tus-resumable",
        "upload-expires",
      ]),
    );
    expect(res.headers.get("ratelimit-remaining")).toBe("99");
  });

  it("never pairs credentials with `*`", async () => {
    const app = createApp();
    app.use("/api/*", apiCors(), rateLimits([]), optionalUser());
    app.get("/api/open", (c) => c.json({ ok: true }));
    const anyOrigin = { ...env, CORS_ALLOWED_ORIGINS: "*" };
    const res = await app.request("/api/open", { headers: { Origin: UNKNOWN } }, anyOrigin);
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
    expect(res.headers.get("access-control-allow-credentials")).toBeNull();
    const pre = await app.request(
      "/api/open",
      { method: "OPTIONS", headers: { Origin: UNKNOWN, "Access-Control-Request-Method": "GET" } },
      anyOrigin,
    );
    expect(pre.status).toBe(204);
    expect(pre.headers.get("access-control-allow-origin")).toBe("*");
    expect(pre.headers.get("access-control-allow-credentials")).toBeNull();
  });

  it("leaves non-API paths alone", async () => {
    const res = await apiClient().call("GET", "/healthz", { headers: { Origin: ALLOWED } });
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
  });
});
