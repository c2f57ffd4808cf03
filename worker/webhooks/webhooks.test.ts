import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import {
  newWebhookSecret,
  signStandardWebhook,
  signWebhook,
  verifyWebhook,
  webhookRetryDelay,
  webhookSignatureHeaders,
  webhookUrlProblem,
} from "./webhooks";

describe("webhook signatures", () => {
  it("signs t.body with HMAC-SHA256 and verifies it back", async () => {
    const now = Date.now();
    const t = Math.floor(now / 1000);
    const header = await signWebhook("whsec_x", '{"a":1}', t);
    expect(header).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(await verifyWebhook("whsec_x", '{"a":1}', header, 300, now)).toBe(true);
    expect(await verifyWebhook("whsec_x", '{"a":2}', header, 300, now)).toBe(false);
    expect(await verifyWebhook("other", '{"a":1}', header, 300, now)).toBe(false);
    expect(await verifyWebhook("whsec_x", '{"a":1}', header, 300, now + 600_000)).toBe(false);
  });

  it("signs the Standard Webhooks way: the specification's example", async () => {
    // From the Standard Webhooks specification and its reference libraries' tests.
    const signature = await signStandardWebhook(
      "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
      "msg_p5jXN8AQM9LWM0D4loKWxJek",
      1614265330,
      '{"test": 2432232314}',
    );
    expect(signature).toBe("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
  });

  it.each([
    ["a new secret", newWebhookSecret()],
    // The format secrets had before they were base64: whsec_ and 48 hex digits.
    ["a secret made before", `whsec_${"0123456789abcdef".repeat(3)}`],
  ])("signs each delivery twice with %s, and both verify", async (_, secret) => {
    const body = '{"id":"m1","type":"video.ready"}';
    const timestamp = Math.floor(Date.now() / 1000);
    const headers = await webhookSignatureHeaders(secret, { id: "m1", body, timestamp });
    expect(Object.keys(headers).sort()).toEqual([
      "streambuddy-signature",
      "webhook-id",
      "webhook-signature",
      "webhook-timestamp",
    ]);
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
    expect(() => new Webhook(secret).verify(body.replace("ready", "failed"), headers)).toThrow();
    expect(await verifyWebhook(secret, body, headers["streambuddy-signature"] ?? "")).toBe(true);
  });

  it("makes secrets of 24 random bytes in base64 after whsec_", () => {
    const secret = newWebhookSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    expect(atob(secret.slice(6))).toHaveLength(24);
    expect(newWebhookSecret()).not.toBe(secret);
  });

  it("backs off from a minute up to an hour", () => {
    expect([1, 2, 3, 7, 20].map(webhookRetryDelay)).toEqual([60, 120, 240, 3600, 3600]);
  });
});

describe("webhook URL policy", () => {
  it.each([
    "http://hooks.example.com/x",
    "https://localhost/x",
    "https://127.0.0.1/x",
    "https://10.1.2.3/x",
    "https://192.168.0.5/x",
    "https://172.20.0.1/x",
    "https://169.254.169.254/latest",
    "https://[::1]/x",
    "https://[fd00::1]/x",
    "https://[::ffff:10.0.0.1]/x",
    "https://metadata.internal/x",
    "https://hooks.example.com:8443/x",
    "https://user:pw@hooks.example.com/x",
    "https://intranet/x",
    "not a url",
  ])("refuses %s in production", (url) => {
    expect(webhookUrlProblem(url, true)).not.toBeNull();
  });

  it("accepts a public https URL in production, and loopback http in development", () => {
    expect(webhookUrlProblem("https://hooks.example.com/streambuddy", true)).toBeNull();
    expect(webhookUrlProblem("https://203.0.113.10/hook", true)).toBeNull();
    expect(webhookUrlProblem("http://127.0.0.1:9999/hook", false)).toBeNull();
    expect(webhookUrlProblem("ftp://127.0.0.1/hook", false)).not.toBeNull();
  });
});
