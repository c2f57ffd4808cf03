import { eq, getTableColumns } from "drizzle-orm";
import type { Context, MiddlewareHandler } from "hono";
import type { Database } from "../db/client";
import { authKeys, type User, users } from "../db/schema";
import { runAfterResponse } from "./background";
import { ApiError } from "./errors";
import type { AppEnv, AppOpenAPI } from "./types";

/** A user as requests see it: everything but the password hash. */
export type AuthUser = Omit<User, "passwordHash" | "webhookSecret">;

/** 32 random bytes, hex-encoded: what a client stores and sends. */
const KEY_BYTES = 32;
const KEY_PATTERN = /^[0-9a-f]{64}$/;
/** `last_used_at` is written at most this often per key, not on every request. */
export const KEY_TOUCH_INTERVAL_MS = 60_000;

const toHex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

export function generateKey(): string {
  return toHex(crypto.getRandomValues(new Uint8Array(KEY_BYTES)));
}

/** Only this digest is stored: a leaked table does not hand out working keys. */
export async function hashKey(key: string): Promise<string> {
  return toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(key))));
}

/** The row for a new key and the key itself; the caller inserts the row (alone or in a batch). */
export async function newKeyRow(userId: string, options: { ttlDays: number; now?: number }) {
  const key = generateKey();
  const now = options.now ?? Date.now();
  const row: typeof authKeys.$inferInsert = {
    id: crypto.randomUUID(),
    userId,
    keyHash: await hashKey(key),
    createdAt: new Date(now),
    expiresAt: options.ttlDays > 0 ? new Date(now + options.ttlDays * 86_400_000) : null,
  };
  return { key, row };
}

export async function issueKey(db: Database, userId: string, options: { ttlDays: number }): Promise<string> {
  const { key, row } = await newKeyRow(userId, options);
  await db.insert(authKeys).values(row);
  return key;
}

const { passwordHash: _omitted, webhookSecret: _secret, ...publicUserColumns } = getTableColumns(users);

/** The key's owner and the key's bookkeeping, in one indexed read. */
export async function findKeyOwner(db: Database, keyHash: string) {
  const row = await db
    .select({
      user: publicUserColumns,
      keyId: authKeys.id,
      lastUsedAt: authKeys.lastUsedAt,
      expiresAt: authKeys.expiresAt,
    })
    .from(authKeys)
    .innerJoin(users, eq(users.id, authKeys.userId))
    .where(eq(authKeys.keyHash, keyHash))
    .get();
  return row ?? null;
}

export async function revokeKey(db: Database, keyId: string) {
  await db.delete(authKeys).where(eq(authKeys.id, keyId));
}

export async function touchKey(db: Database, keyId: string, now: number) {
  await db
    .update(authKeys)
    .set({ lastUsedAt: new Date(now) })
    .where(eq(authKeys.id, keyId));
}

const unauthorized = (message: string) =>
  new ApiError("unauthorized", message, { headers: { "WWW-Authenticate": 'Token realm="api"' } });

/**
 * `Token <key>` (the old service's scheme) or `Bearer <key>`; null without the header.
 * Anything else is an error rather than silently anonymous, so a client's mistake shows.
 */
export function parseAuthorization(header: string | undefined): string | null {
  if (header === undefined || header.trim() === "") return null;
  const match = /^(Token|Bearer)\s+(\S+)\s*$/i.exec(header.trim());
  if (!match?.[2]) throw unauthorized("The Authorization header must be `Token <key>` or `Bearer <key>`");
  if (!KEY_PATTERN.test(match[2])) throw unauthorized("Invalid key");
  return match[2];
}

/**
 * Resolves the caller once per request: sets `user` and `authKeyId` for a valid key, nothing for
 * an anonymous request, and throws 401 for a malformed, unknown or expired key (every time it is
 * asked, so a caught 401 never turns the request anonymous).
 */
export async function authenticate(c: Context<AppEnv>): Promise<AuthUser | undefined> {
  if (c.get("authResolved")) return c.get("user");
  const key = parseAuthorization(c.req.header("authorization"));
  if (key === null) {
    c.set("authResolved", true);
    return undefined;
  }
  const db = c.get("db");
  const found = await findKeyOwner(db, await hashKey(key));
  if (!found) throw unauthorized("Invalid key");
  const now = Date.now();
  if (found.expiresAt && found.expiresAt.getTime() <= now) {
    void runAfterResponse(c, "deleting an expired key", revokeKey(db, found.keyId));
    throw unauthorized("The key has expired");
  }
  if (!found.lastUsedAt || now - found.lastUsedAt.getTime() >= KEY_TOUCH_INTERVAL_MS) {
    void runAfterResponse(c, "recording key use", touchKey(db, found.keyId, now));
  }
  c.set("user", found.user);
  c.get("logger")?.annotate({ userId: found.user.id });
  c.set("authKeyId", found.keyId);
  c.set("authResolved", true);
  return found.user;
}

/**
 * Sets `c.var.user` when the request presents a valid key; anonymous requests pass through, and
 * a malformed or unknown key answers 401.
 *
 * @example
 * app.use("/api/*", optionalUser());
 * app.get("/api/me-or-anyone", (c) => c.json({ user: c.var.user?.username ?? null }));
 */
export function optionalUser(): MiddlewareHandler<AppEnv> {
  return async function optionalUser(c, next) {
    await authenticate(c);
    await next();
  };
}

/**
 * Answers 401 unless the request presents a valid key; after it, `c.var.user` is set.
 *
 * @example
 * createRoute({ method: "get", path: "/api/mine", middleware: [requireUser()] as const, ... });
 */
export function requireUser(): MiddlewareHandler<AppEnv> {
  return async function requireUser(c, next) {
    const user = await authenticate(c);
    if (!user) throw unauthorized("Authentication credentials were not provided");
    await next();
  };
}

/** The current user inside a handler behind `requireUser()`. */
export function currentUser(c: Context<AppEnv>): AuthUser {
  const user = c.get("user");
  if (!user) throw unauthorized("Authentication credentials were not provided");
  return user;
}

/** Either scheme, as OpenAPI `security` on authenticated routes. */
export const API_KEY_SECURITY: Record<string, string[]>[] = [{ Token: [] }, { Bearer: [] }];

/** The two ways to present a key, in the API description. */
export function registerSecuritySchemes(app: AppOpenAPI) {
  app.openAPIRegistry.registerComponent("securitySchemes", "Token", {
    type: "apiKey",
    in: "header",
    name: "Authorization",
    description: "`Authorization: Token <key>`, with the key from registration or login.",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "Bearer", {
    type: "http",
    scheme: "bearer",
    description: "`Authorization: Bearer <key>`: the same key, in the Bearer scheme.",
  });
}
