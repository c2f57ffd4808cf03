import { describe, expect, it } from "vitest";
import { signWebhook, verifyWebhook, webhookRetryDelay, webhookUrlProblem } from "./webhooks";

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
