import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { createLogger } from "../../app/logger";
import { loadSettings } from "../../app/settings";
import { users } from "../../db/schema";
import { callApp, signedInUser } from "../../testing/api";
import { seedReadyVideo, testDb } from "../../testing/seed";
import { clearUnits, seedPendingVideo, seedRunner, testDeps } from "../../testing/units";
import { claimUnit, completeUnit, failUnit } from "../../transcode/lifecycle";
import { deliverWebhook } from "../../webhooks/delivery";
import { verifyWebhook } from "../../webhooks/webhooks";

const put = (auth: Record<string, string>, url: string, vars?: Record<string, string>) =>
  callApp(
    "/api/webhook/",
    { method: "PUT", headers: { ...auth, "content-type": "application/json" }, body: JSON.stringify({ url }) },
    undefined,
    vars,
  );

describe("webhook settings", () => {
  it("sets a URL with a fresh secret, shows the URL without the secret, and removes it", async () => {
    const user = await signedInUser();
    const res = await put(user.auth, "https://hooks.example.com/in");
    expect(res.status).toBe(200);
    const body = (await res.json()) as { url: string; secret: string; events: string[] };
    expect(body).toMatchObject({ url: "https://hooks.example.com/in", events: ["video.ready", "video.failed"] });
    expect(body.secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    const shown = await (await callApp("/api/webhook/", { headers: user.auth })).json();
    expect(shown).toEqual({ url: "https://hooks.example.com/in", events: ["video.ready", "video.failed"] });
    expect((await callApp("/api/webhook/", { method: "DELETE", headers: user.auth })).status).toBe(204);
    expect(await (await callApp("/api/webhook/", { headers: user.auth })).json()).toMatchObject({ url: null });
  });

  it("refuses private and loopback targets in production", async () => {
    const user = await signedInUser();
    const production = {
      ENVIRONMENT: "production",
      JOB_TOKEN_SECRET: "x".repeat(32),
      PLAYBACK_SIGNING_KEYS: "k:0123456789abcdef",
    };
    for (const url of ["http://127.0.0.1:9000/x", "https://10.0.0.8/x", "https://localhost/x", "https://[::1]/x"]) {
      const res = await put(user.auth, url, production);
      expect(res.status, url).toBe(400);
    }
    expect((await put(user.auth, "https://hooks.example.com/x", production)).status).toBe(200);
  });

  it("is for authenticated users only", async () => {
    expect((await callApp("/api/webhook/", {})).status).toBe(401);
  });
});

describe("video events", () => {
  it("announces video.ready and video.failed on the webhooks queue", async () => {
    await clearUnits();
    const { deps, sent } = testDeps({ UNIT_MAX_ATTEMPTS: "1" });
    const { runner } = await seedRunner();
    const ready = await seedPendingVideo(deps);
    const readyClaim = await claimUnit(deps, runner);
    if (!readyClaim) throw new Error("nothing claimed");
    await completeUnit(deps, readyClaim, {
      result: {},
      publication: {
        duration: 1,
        width: 2,
        height: 2,
        renditions: [{ id: "0", kind: "video", width: 2, height: 2, bandwidth: 1, codecs: "avc1" }],
      },
    });
    const failed = await seedPendingVideo(deps);
    const failedClaim = await claimUnit(deps, runner);
    if (!failedClaim) throw new Error("nothing claimed");
    await failUnit(deps, failedClaim, { code: "not_video", message: "No video stream" });
    expect(sent.webhooks).toEqual([
      expect.objectContaining({ type: "video.ready", videoId: ready.video.id, userId: ready.video.ownerId }),
      expect.objectContaining({ type: "video.failed", videoId: failed.video.id, userId: failed.video.ownerId }),
    ]);
  });
});

describe("webhook delivery", () => {
  function message(body: unknown, attempts = 1) {
    const state = { acked: false, retry: undefined as undefined | { delaySeconds?: number } };
    const msg = {
      id: "msg-1",
      attempts,
      timestamp: new Date(),
      body,
      ack: () => {
        state.acked = true;
      },
      retry: (o?: { delaySeconds?: number }) => {
        state.retry = o ?? {};
      },
    } as unknown as Message<unknown>;
    return { msg, state };
  }

  async function owner(url: string | null) {
    const user = await signedInUser();
    await testDb()
      .update(users)
      .set({ webhookUrl: url, webhookSecret: url ? "whsec_test" : null })
      .where(eq(users.id, user.id));
    return user;
  }

  const deps = (fetcher: typeof fetch) => ({
    db: testDb(),
    settings: loadSettings(env as unknown as Record<string, unknown>),
    logger: createLogger({}, "error"),
    fetch: fetcher,
  });

  /** One delivery of a `video.ready` event of a new video of `userId`, as the receiver gets it. */
  async function deliveredRequest(userId: string) {
    const video = await seedReadyVideo({ ownerId: userId });
    const seen: Request[] = [];
    const { msg, state } = message({
      type: "video.ready",
      videoId: video.id,
      userId,
      occurredAt: new Date().toISOString(),
    });
    await deliverWebhook(
      msg,
      deps(async (input, init) => {
        seen.push(new Request(input, init));
        return new Response("ok");
      }),
    );
    expect(state.acked).toBe(true);
    const req = seen[0] as Request;
    return { req, body: await req.text(), video };
  }

  it("POSTs the signed event with the video and acknowledges a 2xx", async () => {
    const user = await owner("https://hooks.example.com/in");
    const { req, body, video } = await deliveredRequest(user.id);
    expect(req.url).toBe("https://hooks.example.com/in");
    expect(await verifyWebhook("whsec_test", body, req.headers.get("streambuddy-signature") ?? "")).toBe(true);
    expect(JSON.parse(body)).toMatchObject({ type: "video.ready", data: { id: video.id, status: "ready" } });
  });

  it("signs for Standard Webhooks receivers: the stock library verifies a delivery with the secret PUT gave", async () => {
    const user = await signedInUser();
    const { secret } = (await (await put(user.auth, "https://hooks.example.com/in")).json()) as { secret: string };
    const { req, body, video } = await deliveredRequest(user.id);
    const headers = Object.fromEntries(req.headers);
    expect(headers["webhook-id"]).toBe("msg-1");
    expect(headers["webhook-timestamp"]).toMatch(/^\d+$/);
    expect(headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    expect(new Webhook(secret).verify(body, headers)).toMatchObject({ id: "msg-1", data: { id: video.id } });
    expect(() => new Webhook(secret).verify(`${body} `, headers)).toThrow(/No matching signature/);
    // The platform's own signature, under its own header name, verifies from the same request.
    expect(await verifyWebhook(secret, body, headers["streambuddy-signature"] ?? "")).toBe(true);
    expect(headers["streambuddy-signature"]).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
  });

  it("keeps secrets from before base64 working with both signatures", async () => {
    const secret = `whsec_${"9f8e7d6c5b4a".repeat(4)}`;
    const user = await signedInUser();
    await testDb()
      .update(users)
      .set({ webhookUrl: "https://hooks.example.com/in", webhookSecret: secret })
      .where(eq(users.id, user.id));
    const { req, body } = await deliveredRequest(user.id);
    const headers = Object.fromEntries(req.headers);
    expect(new Webhook(secret).verify(body, headers)).toMatchObject({ type: "video.ready" });
    expect(await verifyWebhook(secret, body, headers["streambuddy-signature"] ?? "")).toBe(true);
  });

  it("retries with back-off when the endpoint fails or does not answer", async () => {
    const user = await owner("https://hooks.example.com/in");
    const video = await seedReadyVideo({ ownerId: user.id });
    const body = { type: "video.ready", videoId: video.id, userId: user.id, occurredAt: new Date().toISOString() };
    const failing = message(body, 3);
    await deliverWebhook(
      failing.msg,
      deps(async () => new Response("nope", { status: 500 })),
    );
    expect(failing.state).toMatchObject({ acked: false, retry: { delaySeconds: 240 } });
    const unreachable = message(body, 1);
    await deliverWebhook(
      unreachable.msg,
      deps(async () => {
        throw new TypeError("connect failed");
      }),
    );
    expect(unreachable.state.retry).toEqual({ delaySeconds: 60 });
  });

  it("sends nothing for users without a webhook", async () => {
    const user = await owner(null);
    const video = await seedReadyVideo({ ownerId: user.id });
    let called = false;
    const { msg, state } = message({ type: "video.failed", videoId: video.id, userId: user.id, occurredAt: "x" });
    await deliverWebhook(
      msg,
      deps(async () => {
        called = true;
        return new Response("ok");
      }),
    );
    expect(state.acked).toBe(true);
    expect(called).toBe(false);
  });
});
