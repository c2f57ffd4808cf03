import { describe, expect, it } from "vitest";
import type { Envelope } from "../testing/api";
import { callApp } from "../testing/api";

const call = (path: string, init?: RequestInit) => callApp(path, init);

describe("the error envelope", () => {
  it("answers an unknown route with 404 in the envelope and the request id", async () => {
    const res = await call("/nope/nothing-here");
    expect(res.status).toBe(404);
    const body = (await res.json()) as Envelope;
    expect(body.error.code).toBe("not_found");
    expect(body.error.message).toContain("/nope/nothing-here");
    expect(body.error.requestId).toBe(res.headers.get("x-request-id"));
  });

  it("answers a wrong method on a known path with 405 and Allow", async () => {
    const res = await call("/healthz", { method: "DELETE" });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toContain("GET");
    const body = (await res.json()) as Envelope;
    expect(body.error.code).toBe("method_not_allowed");
  });

  it("keeps a sane incoming X-Request-Id and replaces a hostile one", async () => {
    const kept = await call("/nope", { headers: { "x-request-id": "abc12345-trace" } });
    expect(((await kept.json()) as Envelope).error.requestId).toBe("abc12345-trace");
    const replaced = await call("/nope", { headers: { "x-request-id": "<script>" } });
    expect(((await replaced.json()) as Envelope).error.requestId).not.toBe("<script>");
  });
});

describe("validation through createRouter", async () => {
  const { createRoute, z } = await import("@hono/zod-openapi");
  const { createApp } = await import("./create-app");
  const { env } = await import("cloudflare:workers");

  const app = createApp();
  app.openapi(
    createRoute({
      method: "post",
      path: "/echo",
      request: {
        body: { required: true, content: { "application/json": { schema: z.object({ name: z.string().min(2) }) } } },
      },
      responses: { 200: { description: "ok" } },
    }),
    async (c) => c.json(c.req.valid("json")),
  );
  const post = (body: string) =>
    app.request("/echo", { method: "POST", body, headers: { "content-type": "application/json" } }, env);

  it("answers a malformed JSON body with 400 invalid_json", async () => {
    const res = await post("{not json");
    expect(res.status).toBe(400);
    expect(((await res.json()) as Envelope).error.code).toBe("invalid_json");
  });

  it("answers a schema violation with 400 and field-level details", async () => {
    const res = await post(JSON.stringify({ name: 5 }));
    expect(res.status).toBe(400);
    const body = (await res.json()) as Envelope;
    expect(body.error.code).toBe("validation_error");
    expect(body.error.details).toEqual([expect.objectContaining({ path: "name" })]);
  });

  it("passes a valid body through", async () => {
    const res = await post(JSON.stringify({ name: "ok" }));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ name: "ok" });
  });

  it("answers a thrown error with 500 in the envelope without leaking it", async () => {
    const failing = createApp();
    failing.get("/boom", () => {
      throw new Error("secret internals");
    });
    const res = await failing.request("/boom", {}, env);
    expect(res.status).toBe(500);
    const body = (await res.json()) as Envelope;
    expect(body.error.code).toBe("internal_error");
    expect(JSON.stringify(body)).not.toContain("secret internals");
  });
});

describe("production without its secrets", async () => {
  const { callApp } = await import("../testing/api");

  it("refuses to serve with 503 in the envelope, and serves once they are set", async () => {
    const bare = { ENVIRONMENT: "production", JOB_TOKEN_SECRET: "", PLAYBACK_SIGNING_KEYS: "" };
    const refused = await callApp("/healthz", {}, undefined, bare);
    expect(refused.status).toBe(503);
    expect(((await refused.json()) as Envelope).error.code).toBe("service_unavailable");
    const configured = await callApp("/healthz", {}, undefined, {
      ...bare,
      JOB_TOKEN_SECRET: "a-real-secret-of-some-length",
      PLAYBACK_SIGNING_KEYS: "k1:another-real-secret",
    });
    expect(configured.status).toBe(200);
  });
});
