import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

describe("GET /healthz", () => {
  it("answers ok with a request id", async () => {
    const res = await exports.default.fetch(new Request("http://example.com/healthz"));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
    expect(res.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("answers the same with a trailing slash", async () => {
    const res = await exports.default.fetch(new Request("http://example.com/healthz/"));
    expect(res.status).toBe(200);
  });
});
