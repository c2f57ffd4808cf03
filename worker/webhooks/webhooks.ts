/**
 * Webhooks: `video.ready` and `video.failed`, POSTed to the owner's URL. Each delivery carries two
 * signatures of the same body and timestamp, made with the owner's secret:
 * - Standard Webhooks (https://www.standardwebhooks.com/): `webhook-id`, `webhook-timestamp` and
 *   `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, keyed with the bytes the
 *   secret's base64 part (after `whsec_`) decodes to, so stock libraries such as the
 *   `standardwebhooks` packages verify it;
 * - the platform's own, like Stripe's and Cloudflare Stream's: `StreamBuddy-Signature:
 *   t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">`, keyed with the whole secret as text.
 * Deliveries go through the `webhooks` queue, so a failing endpoint is retried with back-off
 * without holding up anything else.
 */
import { z } from "zod";
import { isLocalhostName, literalAddressClass } from "../outbound/public-host";

export const WEBHOOK_QUEUE = "webhooks";
export const WEBHOOK_EVENT_TYPES = ["video.ready", "video.failed"] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

export const WebhookMessageSchema = z.object({
  type: z.enum(WEBHOOK_EVENT_TYPES),
  videoId: z.string().min(1),
  userId: z.string().min(1),
  occurredAt: z.string(),
});
export type WebhookMessage = z.infer<typeof WebhookMessageSchema>;

const encoder = new TextEncoder();
const hex = (bytes: ArrayBuffer) => [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, "0")).join("");

const base64 = (bytes: ArrayBuffer | Uint8Array) => btoa(String.fromCharCode(...new Uint8Array(bytes)));

async function hmacSha256(key: Uint8Array, message: string): Promise<ArrayBuffer> {
  const cryptoKey = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return crypto.subtle.sign("HMAC", cryptoKey, encoder.encode(message));
}

/** The platform's own signature, the `StreamBuddy-Signature` header: `t=<t>,v1=<hex HMAC of "t.body">`. */
export async function signWebhook(secret: string, body: string, timestamp: number): Promise<string> {
  const mac = await hmacSha256(encoder.encode(secret), `${timestamp}.${body}`);
  return `t=${timestamp},v1=${hex(mac)}`;
}

const SECRET_PREFIX = "whsec_";

/**
 * The Standard Webhooks key of a secret: its part after `whsec_`, base64-decoded. Secrets made
 * before they were base64 (`whsec_` + 48 hex digits) decode too: hex digits are base64 characters,
 * so those keep verifying with stock libraries, which decode them the same way.
 */
export function standardWebhookKey(secret: string): Uint8Array {
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  return Uint8Array.from(atob(encoded), (c) => c.charCodeAt(0));
}

/** The `webhook-signature` header of Standard Webhooks: `v1,<base64 HMAC of "id.timestamp.body">`. */
export async function signStandardWebhook(secret: string, id: string, timestamp: number, body: string) {
  return `v1,${base64(await hmacSha256(standardWebhookKey(secret), `${id}.${timestamp}.${body}`))}`;
}

/** Every header that identifies and signs one delivery. */
export async function webhookSignatureHeaders(
  secret: string,
  delivery: { id: string; body: string; timestamp: number },
): Promise<Record<string, string>> {
  const { id, body, timestamp } = delivery;
  return {
    "webhook-id": id,
    "webhook-timestamp": String(timestamp),
    "webhook-signature": await signStandardWebhook(secret, id, timestamp, body),
    "streambuddy-signature": await signWebhook(secret, body, timestamp),
  };
}

/**
 * What a receiver of `StreamBuddy-Signature` does: recompute and compare, and refuse old
 * timestamps (replays).
 */
export async function verifyWebhook(
  secret: string,
  body: string,
  header: string,
  toleranceSeconds = 300,
  now = Date.now(),
): Promise<boolean> {
  const t = Number(/(?:^|,)t=(\d+)/.exec(header)?.[1]);
  const v1 = /(?:^|,)v1=([0-9a-f]{64})/.exec(header)?.[1];
  if (!Number.isFinite(t) || !v1 || Math.abs(now / 1000 - t) > toleranceSeconds) return false;
  const expected = (await signWebhook(secret, body, t)).split("v1=")[1] ?? "";
  let diff = 0;
  for (let i = 0; i < 64; i++) diff |= expected.charCodeAt(i) ^ v1.charCodeAt(i);
  return diff === 0;
}

/** `whsec_` and 24 random bytes in base64, as Standard Webhooks secrets are written. */
export function newWebhookSecret(): string {
  return `${SECRET_PREFIX}${base64(crypto.getRandomValues(new Uint8Array(24)))}`;
}

/** Seconds before delivery attempt n+1 (1 min, 2, 4, … capped at 1 h). */
export const webhookRetryDelay = (attempts: number) => Math.min(3600, 60 * 2 ** Math.max(0, attempts - 1));

/**
 * Whether a webhook may be sent to `url`. In production only https to public hosts: no private,
 * loopback, link-local or internal addresses, no ports but 443. Elsewhere http and loopback
 * are allowed too, so a receiver on the same machine works during development.
 */
export function webhookUrlProblem(url: string, production: boolean): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return "The webhook URL is not a valid URL";
  }
  if (url.length > 2048) return "The webhook URL is longer than 2048 characters";
  if (parsed.username || parsed.password) return "The webhook URL must not carry credentials";
  if (!production) return ["http:", "https:"].includes(parsed.protocol) ? null : "The webhook URL must be http(s)";
  if (parsed.protocol !== "https:") return "The webhook URL must use https";
  if (parsed.port && parsed.port !== "443") return "The webhook URL must use the standard https port";
  const host = parsed.hostname.replace(/^\[|\]$/g, "").toLowerCase();
  if (isLocalhostName(host) || host.endsWith(".internal") || host.endsWith(".local")) {
    return "The webhook URL must point at a public host";
  }
  if (literalAddressClass(parsed.hostname) || !host.includes(".")) {
    return "The webhook URL must point at a public address";
  }
  return null;
}
