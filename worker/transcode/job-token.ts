/**
 * Per-job tokens for the internal job API: `<payload>.<signature>`, both base64url, where the
 * payload is `{j: jobId, a: attempt, e: expiry (unix seconds)}` and the signature an HMAC-SHA256
 * over the payload with JOB_TOKEN_SECRET. A token opens only its job, only while that attempt
 * is the current one (checked against D1 by the caller), and only until it expires.
 */
export interface JobTokenClaims {
  jobId: string;
  attempt: number;
  expiresAt: number;
}

const encoder = new TextEncoder();

export function base64url(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

export function fromBase64url(text: string): Uint8Array | null {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return null;
  try {
    const bin = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
    return Uint8Array.from(bin, (c) => c.charCodeAt(0));
  } catch {
    return null;
  }
}

async function hmacKey(secret: string): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
    "verify",
  ]);
}

export async function mintJobToken(secret: string, claims: JobTokenClaims): Promise<string> {
  const payload = base64url(
    encoder.encode(JSON.stringify({ j: claims.jobId, a: claims.attempt, e: claims.expiresAt })),
  );
  const signature = await crypto.subtle.sign("HMAC", await hmacKey(secret), encoder.encode(payload));
  return `${payload}.${base64url(new Uint8Array(signature))}`;
}

/** The claims of a well-formed, correctly signed, unexpired token; null otherwise. */
export async function verifyJobToken(secret: string, token: string, now = Date.now()): Promise<JobTokenClaims | null> {
  const parts = token.split(".");
  if (parts.length !== 2 || token.length > 1024) return null;
  const [payload, sig] = parts as [string, string];
  const signature = fromBase64url(sig);
  const payloadBytes = fromBase64url(payload);
  if (!signature || !payloadBytes) return null;
  // crypto.subtle.verify compares in constant time.
  const valid = await crypto.subtle.verify("HMAC", await hmacKey(secret), signature, encoder.encode(payload));
  if (!valid) return null;
  let claims: unknown;
  try {
    claims = JSON.parse(new TextDecoder().decode(payloadBytes));
  } catch {
    return null;
  }
  const { j, a, e } = (claims ?? {}) as { j?: unknown; a?: unknown; e?: unknown };
  if (typeof j !== "string" || typeof a !== "number" || typeof e !== "number") return null;
  if (e * 1000 <= now) return null;
  return { jobId: j, attempt: a, expiresAt: e };
}
