/**
 * API keys: 32 random bytes shown once; only their SHA-256 is stored, with when each key was
 * created, last used and (optionally) expires.
 */
import { eq, getTableColumns } from "drizzle-orm";
import type { Database } from "../db/client";
import { authKeys, type User, users } from "../db/schema";

/** A user as requests see it: everything but the password hash. */
export type AuthUser = Omit<User, "passwordHash" | "webhookSecret">;

/** 32 random bytes, hex-encoded: what a client stores and sends. */
const KEY_BYTES = 32;
export const KEY_PATTERN = /^[0-9a-f]{64}$/;
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
