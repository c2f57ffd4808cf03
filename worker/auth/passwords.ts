/**
 * Password hashing with PBKDF2-SHA256 through WebCrypto. The parameters travel with the hash
 * (`pbkdf2_sha256$<iterations>$<salt b64>$<hash b64>`), so raising the iteration count later
 * keeps old hashes verifiable.
 */

/** The highest count the Workers runtime accepts in production; the local runtime allows more. */
export const PBKDF2_ITERATIONS = 100_000;
const ALGORITHM = "pbkdf2_sha256";
const SALT_BYTES = 16;
const HASH_BITS = 256;

export const MIN_PASSWORD_LENGTH = 8;
/** Long enough for any passphrase, short enough that hashing stays cheap. */
export const MAX_PASSWORD_LENGTH = 1024;

const toBase64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));
const fromBase64 = (b64: string) => Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));

async function pbkdf2(password: string, salt: Uint8Array, iterations: number): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(password), "PBKDF2", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt, iterations }, key, HASH_BITS);
  return new Uint8Array(bits);
}

export async function hashPassword(password: string, iterations = PBKDF2_ITERATIONS): Promise<string> {
  const salt = crypto.getRandomValues(new Uint8Array(SALT_BYTES));
  const hash = await pbkdf2(password, salt, iterations);
  return `${ALGORITHM}$${iterations}$${toBase64(salt)}$${toBase64(hash)}`;
}

interface ParsedHash {
  iterations: number;
  salt: Uint8Array;
  hash: Uint8Array;
}

function parseHash(stored: string): ParsedHash | null {
  const [algorithm, iterations, salt, hash, ...rest] = stored.split("$");
  if (algorithm !== ALGORITHM || rest.length > 0 || !salt || !hash) return null;
  const n = Number(iterations);
  if (!Number.isInteger(n) || n < 1 || n > PBKDF2_ITERATIONS) return null;
  try {
    return { iterations: n, salt: fromBase64(salt), hash: fromBase64(hash) };
  } catch {
    return null;
  }
}

/**
 * A well-formed hash of a password nobody knows: checking a login against it costs the same
 * PBKDF2 work as checking a real user, so the answer time does not tell whether the user exists.
 */
export const UNKNOWN_USER_HASH = `${ALGORITHM}$${PBKDF2_ITERATIONS}$${"A".repeat(22)}==$${"A".repeat(43)}=`;

/** Constant-time with respect to the hash bytes; false for an unreadable stored hash. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const readable = parseHash(stored);
  const parsed = readable ?? parseHash(UNKNOWN_USER_HASH);
  if (!parsed) return false;
  const candidate = await pbkdf2(password, parsed.salt, parsed.iterations);
  const same = candidate.byteLength === parsed.hash.byteLength && crypto.subtle.timingSafeEqual(candidate, parsed.hash);
  return same && readable !== null && stored !== UNKNOWN_USER_HASH;
}

/** Field-level problems with a new password, in the old service's words; empty when it is acceptable. */
export function passwordProblems(password: string, username: string): string[] {
  const problems: string[] = [];
  if (password.length < MIN_PASSWORD_LENGTH) {
    problems.push(`This password is too short. It must contain at least ${MIN_PASSWORD_LENGTH} characters.`);
  }
  if (password.length > MAX_PASSWORD_LENGTH) {
    problems.push(`This password is too long. It must contain at most ${MAX_PASSWORD_LENGTH} characters.`);
  }
  if (/^\d+$/.test(password)) problems.push("This password is entirely numeric.");
  if (username && password.toLowerCase() === username.toLowerCase()) {
    problems.push("The password is too similar to the username.");
  }
  return problems;
}
