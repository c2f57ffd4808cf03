/**
 * Signed playback paths for private videos: `/v/<id>/t/<token>/manifest.mpd`. The token sits in
 * the path, so the relative segment URLs inside the manifests carry it too.
 *
 * A token is `<kid>.<expiry (unix s)>.<signature>`, the signature an HMAC-SHA256 over
 * `<videoId>.<expiry>` with the key named `kid`. Keys rotate: PLAYBACK_SIGNING_KEYS lists
 * `kid:secret` pairs; the first signs, every listed key verifies until it is removed.
 */
import { base64url, fromBase64url } from "../transcode/unit-token";

export interface SigningKey {
  id: string;
  secret: string;
}

const encoder = new TextEncoder();

/** "k2:secret2,k1:secret1" → keys, newest (signing) first. */
export function parseSigningKeys(value: string): SigningKey[] {
  return value
    .split(",")
    .map((pair) => pair.trim())
    .filter(Boolean)
    .map((pair) => {
      const at = pair.indexOf(":");
      return { id: pair.slice(0, at), secret: pair.slice(at + 1) };
    })
    .filter((k) => /^[A-Za-z0-9_-]{1,16}$/.test(k.id) && k.secret.length >= 16);
}

async function sign(secret: string, message: string): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(message)));
}

export async function mintPlaybackToken(keys: SigningKey[], videoId: string, expiresAt: number): Promise<string> {
  const key = keys[0];
  if (!key) throw new Error("no playback signing key");
  const signature = await sign(key.secret, `${videoId}.${expiresAt}`);
  return `${key.id}.${expiresAt}.${base64url(signature)}`;
}

export type PlaybackTokenCheck = "valid" | "expired" | "invalid";

export async function verifyPlaybackToken(
  keys: SigningKey[],
  videoId: string,
  token: string,
  now = Date.now(),
): Promise<PlaybackTokenCheck> {
  const m = /^([A-Za-z0-9_-]{1,16})\.(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(token);
  if (!m) return "invalid";
  const [, kid, expText, sigText] = m as unknown as [string, string, string, string];
  const key = keys.find((k) => k.id === kid);
  const given = fromBase64url(sigText);
  if (!key || !given) return "invalid";
  const cryptoKey = await crypto.subtle.importKey(
    "raw",
    encoder.encode(key.secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["verify"],
  );
  // Constant-time comparison inside crypto.subtle.verify.
  const ok = await crypto.subtle.verify("HMAC", cryptoKey, given, encoder.encode(`${videoId}.${expText}`));
  if (!ok) return "invalid";
  return Number(expText) * 1000 <= now ? "expired" : "valid";
}
