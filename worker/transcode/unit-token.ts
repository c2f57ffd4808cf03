/**
 * Per-unit tokens for the internal unit API: `<payload>.<signature>`, both base64url, where the
 * payload is `{u: unitId, a: attempt, r: runnerId, e: expiry (unix seconds)}` and the signature an
 * HMAC-SHA256 over the payload with JOB_TOKEN_SECRET. A token opens only its unit, only while that
 * attempt is the unit's current one and its runner is not revoked (both checked against D1 by the
 * caller), and only until it expires.
 */
export interface UnitTokenClaims {
  unitId: string;
  attempt: number;
  runnerId: string;
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

export async function mintUnitToken(secret: string, claims: UnitTokenClaims): Promise<string> {
  const payload = base64url(
    encoder.encode(JSON.stringify({ u: claims.unitId, a: claims.attempt, r: claims.runnerId, e: claims.expiresAt })),
  );
  const signature = await crypto.subtle.sign("HMAC", await hmacKey(secret), encoder.encode(payload));
  return `${payload}.${base64url(new Uint8Array(signature))}`;
}

/** The claims of a well-formed, correctly signed, unexpired token; null otherwise. */
export async function verifyUnitToken(
  secret: string,
  token: string,
  now = Date.now(),
): Promise<UnitTokenClaims | null> {
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
  const { u, a, r, e } = (claims ?? {}) as { u?: unknown; a?: unknown; r?: unknown; e?: unknown };
  if (typeof u !== "string" || typeof a !== "number" || typeof r !== "string" || typeof e !== "number") return null;
  if (e * 1000 <= now) return null;
  return { unitId: u, attempt: a, runnerId: r, expiresAt: e };
}
