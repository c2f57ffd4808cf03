import { describe, expect, it } from "vitest";
import { callApp } from "../../testing/api";

describe("GET /healthz", () => {
  it("answers ok with a request id", async () => {
    const res = await callApp("/healthz");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
    expect(res.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("answers the same with a trailing slash", async () => {
    const res = await callApp("/healthz/");
    expect(res.status).toBe(200);
  });
});
