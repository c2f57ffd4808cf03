import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createApp } from "../app/create-app";
import type { RateLimitPolicy } from "../durable/rate-limiter";
import { apiClient, type Envelope, signedInUser } from "../testing/api";
import { optionalUser, requireUser } from "./auth";
import { clientSubject, type RouteRateLimit, rateLimits } from "./rate-limit";

const DAY_MS = 86_400_000;

const limitHeaders = (res: Response) => ({
  limit: res.headers.get("ratelimit-limit"),
  remaining: res.headers.get("ratelimit-remaining"),
  reset: res.headers.get("ratelimit-reset"),
});

describe("the general API limit through the real app", () => {
  it("puts RateLimit-* headers on API answers and none on /healthz", async () => {
    const client = apiClient();
    const first = await client.call("GET", "/api/auth/user/");
    expect(first.status).toBe(401);
    expect(limitHeaders(first)).toEqual({ limit: "100", remaining: "99", reset: expect.stringMatching(/^\d+$/) });
    const reset = Number(first.headers.get("ratelimit-reset"));
    expect(reset).toBeGreaterThan(0);
    expect(reset).toBeLessThanOrEqual(86_400);
    const second = await client.call("GET", "/api/nothing-here");
    expect(second.status).toBe(404);
    expect(second.headers.get("ratelimit-remaining")).toBe("98");

    const health = await client.call("GET", "/healthz");
    expect(health.headers.get("ratelimit-limit")).toBeNull();
    const docs = await client.call("GET", "/openapi.json");
    expect(docs.headers.get("ratelimit-limit")).toBeNull();
  });

  it("refuses the 101st anonymous request of the day with 429, Retry-After and the envelope", async () => {
    const client = apiClient();
    for (let i = 1; i <= 100; i++) {
      const res = await client.call("GET", "/api/auth/user/");
      expect(res.status, `request ${i}`).toBe(401);
    }
    const refused = await client.call("GET", "/api/auth/user/");
    expect(refused.status).toBe(429);
    const retryAfter = Number(refused.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(86_400);
    expect(limitHeaders(refused)).toEqual({ limit: "100", remaining: "0", reset: String(retryAfter) });
    const body = (await refused.json()) as Envelope;
    expect(body.error.code).toBe("rate_limited");
    expect(body.error.requestId).toBe(refused.headers.get("x-request-id"));

    // Another client address has its own counter.
    const other = await apiClient().call("GET", "/api/auth/user/");
    expect(other.status).toBe(401);
    expect(other.headers.get("ratelimit-remaining")).toBe("99");

    // A signed-in user counts against the user's own limit, even from the exhausted address.
    const { key } = await signedInUser();
    const signedIn = await client.call("GET", "/api/auth/user/", { key });
    expect(signedIn.status).toBe(200);
    expect(limitHeaders(signedIn)).toMatchObject({ limit: "1000", remaining: "999" });
  });

  it("counts a request with a bad key against its client address before answering 401", async () => {
    const client = apiClient();
    const badKey = await client.call("GET", "/api/auth/user/", { key: "0".repeat(64) });
    expect(badKey.status).toBe(401);
    expect(limitHeaders(badKey)).toMatchObject({ limit: "100", remaining: "99" });
    const malformed = await client.call("GET", "/api/auth/user/", { key: "nope" });
    expect(malformed.status).toBe(401);
    expect(limitHeaders(malformed)).toMatchObject({ remaining: "98" });
    const anonymous = await client.call("GET", "/api/auth/user/");
    expect(limitHeaders(anonymous)).toMatchObject({ remaining: "97" });
  });
});

describe("the RateLimiter Durable Object", () => {
  const day = (name: string, limit: number): RateLimitPolicy => ({ name, limit, windowSeconds: 86_400 });
  // Far enough ahead that the cleanup alarm of these windows never fires during the test run.
  const tomorrowMidnight = Math.ceil(Date.now() / DAY_MS) * DAY_MS + DAY_MS;

  it("resets a day window at 00:00 UTC", async () => {
    const stub = env.RATE_LIMITER.getByName("test:window");
    const lateEvening = tomorrowMidnight + DAY_MS - 60_000;
    for (let i = 0; i < 3; i++) expect((await stub.check([day("anonymous", 3)], lateEvening)).allowed).toBe(true);
    const refused = await stub.check([day("anonymous", 3)], lateEvening);
    expect(refused.allowed).toBe(false);
    expect(refused.policies[0]).toMatchObject({ remaining: 0, resetSeconds: 60, exhausted: true });

    const nextDay = await stub.check([day("anonymous", 3)], tomorrowMidnight + DAY_MS);
    expect(nextDay.allowed).toBe(true);
    expect(nextDay.policies[0]).toMatchObject({ remaining: 2, resetSeconds: 86_400 });
  });

  it("checks several policies atomically and counts nothing when one is exhausted", async () => {
    const stub = env.RATE_LIMITER.getByName("test:atomic");
    const both = [day("user", 5), day("upload", 2)];
    const now = tomorrowMidnight + 1000;
    expect((await stub.check(both, now)).allowed).toBe(true);
    expect((await stub.check(both, now)).allowed).toBe(true);
    const refused = await stub.check(both, now);
    expect(refused.allowed).toBe(false);
    expect(refused.policies.map((p) => [p.name, p.remaining, p.exhausted])).toEqual([
      ["user", 3, false],
      ["upload", 0, true],
    ]);
    // The refused call left the user counter alone; the user limit alone still has room.
    expect((await stub.peek([day("user", 5)], now)).policies[0]?.remaining).toBe(3);
    expect((await stub.check([day("user", 5)], now)).policies[0]?.remaining).toBe(2);
  });

  it("keeps the counters of different subjects apart", async () => {
    const now = tomorrowMidnight + 2000;
    await env.RATE_LIMITER.getByName("test:a").check([day("anonymous", 1)], now);
    expect((await env.RATE_LIMITER.getByName("test:a").check([day("anonymous", 1)], now)).allowed).toBe(false);
    expect((await env.RATE_LIMITER.getByName("test:b").check([day("anonymous", 1)], now)).allowed).toBe(true);
  });
});

describe("route limits from the table", () => {
  const table: RouteRateLimit[] = [
    { methods: ["POST"], path: "/api/test-upload", policy: "upload" },
    { methods: ["GET"], path: "/v/:id/manifest.mpd", policy: "stream" },
  ];
  /** A small app wired like the real one, with one upload route and one ordinary route. */
  function uploadApp() {
    const app = createApp();
    app.use("/api/*", rateLimits(table), optionalUser());
    app.use("/v/*", rateLimits(table));
    app.post("/api/test-upload", requireUser(), (c) => c.json({ ok: true }, 201));
    app.get("/api/test-other", (c) => c.json({ ok: true }));
    app.get("/v/:id/manifest.mpd", (c) => c.text("<MPD/>"));
    return app;
  }
  const request = async (app: ReturnType<typeof uploadApp>, path: string, init: RequestInit, bindings = env) => {
    const ctx = createExecutionContext();
    const res = await app.request(path, init, bindings, ctx);
    await waitOnExecutionContext(ctx);
    return res;
  };

  it("refuses the 11th upload of a user in a day while other calls still pass", async () => {
    const app = uploadApp();
    const { key, user } = await signedInUser();
    const auth = { headers: { Authorization: `Token ${key}` } };
    for (let i = 1; i <= 10; i++) {
      const res = await request(app, "/api/test-upload", { method: "POST", ...auth });
      expect(res.status, `upload ${i}`).toBe(201);
      expect(limitHeaders(res)).toMatchObject({ limit: "10", remaining: String(10 - i) });
    }
    const refused = await request(app, "/api/test-upload", { method: "POST", ...auth });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    const body = (await refused.json()) as Envelope;
    expect(body.error.code).toBe("rate_limited");
    expect(body.error.details).toMatchObject({ policy: "upload", limit: 10 });

    const other = await request(app, "/api/test-other", auth);
    expect(other.status).toBe(200);
    expect(limitHeaders(other)).toMatchObject({ limit: "1000" });

    // Ten uploads and one other call counted against the user's daily limit; the refusal did not.
    const userDay = { name: "user", limit: 1000, windowSeconds: 86_400 };
    const state = await env.RATE_LIMITER.getByName(`user:${user.id}`).peek([userDay]);
    expect(state.policies[0]?.remaining).toBe(1000 - 11);
  });

  it("still counts a call its route refuses before the route limit runs", async () => {
    const app = uploadApp();
    const init = { method: "POST", headers: { "CF-Connecting-IP": "192.0.2.80" } };
    const first = await request(app, "/api/test-upload", init);
    expect(first.status).toBe(401);
    expect(limitHeaders(first)).toMatchObject({ limit: "100", remaining: "99" });
    const second = await request(app, "/api/test-upload", init);
    expect(limitHeaders(second)).toMatchObject({ remaining: "98" });
  });

  it("counts a playback route outside the API against the stream limit only", async () => {
    const app = uploadApp();
    const ip = "192.0.2.77";
    const res = await request(app, "/v/abc/manifest.mpd", { headers: { "CF-Connecting-IP": ip } });
    expect(res.status).toBe(200);
    expect(limitHeaders(res)).toMatchObject({ limit: "1000", remaining: "999" });
    expect(res.headers.get("ratelimit-policy")).toBe("1000;w=3600");
  });

  it("limits nothing and adds no headers when RATE_LIMIT_ENABLED is false", async () => {
    const app = uploadApp();
    const disabled = { ...env, RATE_LIMIT_ENABLED: "false", RATE_LIMIT_ANON_PER_DAY: "1" };
    for (let i = 0; i < 3; i++) {
      const res = await request(app, "/api/test-other", { headers: { "CF-Connecting-IP": "192.0.2.78" } }, disabled);
      expect(res.status).toBe(200);
      expect(res.headers.get("ratelimit-limit")).toBeNull();
    }
  });

  it("takes its limits from the settings", async () => {
    const app = uploadApp();
    const strict = { ...env, RATE_LIMIT_ANON_PER_DAY: "2" };
    const init = { headers: { "CF-Connecting-IP": "192.0.2.79" } };
    expect((await request(app, "/api/test-other", init, strict)).status).toBe(200);
    expect((await request(app, "/api/test-other", init, strict)).status).toBe(200);
    const refused = await request(app, "/api/test-other", init, strict);
    expect(refused.status).toBe(429);
    expect(refused.headers.get("ratelimit-limit")).toBe("2");
  });
});

describe("clientSubject", () => {
  it("keys IPv4 by address, IPv6 by /64, and a missing address by one fixed key", () => {
    expect(clientSubject("203.0.113.9")).toBe("ip:203.0.113.9");
    expect(clientSubject("::ffff:203.0.113.9")).toBe("ip:203.0.113.9");
    expect(clientSubject("2001:db8:1:2:aaaa::1")).toBe("ip:2001:db8:1:2::/64");
    expect(clientSubject("2001:0db8:0001:0002:ffff:0:0:1")).toBe("ip:2001:db8:1:2::/64");
    expect(clientSubject("2001:db8::1")).toBe("ip:2001:db8:0:0::/64");
    expect(clientSubject(undefined)).toBe("ip:unknown");
    expect(clientSubject("")).toBe("ip:unknown");
  });
});
