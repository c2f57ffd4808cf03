import { and, eq, ne, or, sql } from "drizzle-orm";
import type { Database } from "../db/client";
import { authKeys, type User, users } from "../db/schema";
import type { AuthUser } from "./authenticate";

/** The old service's user JSON (dj-rest-auth's UserDetails, with `pk` kept for old clients). */
export function toUserJson(user: AuthUser) {
  return {
    pk: user.id,
    id: user.id,
    username: user.username,
    email: user.email,
    first_name: user.firstName,
    last_name: user.lastName,
    date_joined: user.createdAt.toISOString(),
  };
}

/** Usernames compare in NFKC, as the old service's did; the case is kept as typed. */
export const normalizeUsername = (username: string) => username.normalize("NFKC").trim();

/** Trims, and lowercases the domain (the local part may be case-sensitive somewhere). */
export function normalizeEmail(email: string): string {
  const trimmed = email.trim();
  const at = trimmed.lastIndexOf("@");
  return at < 0 ? trimmed : `${trimmed.slice(0, at)}${trimmed.slice(at).toLowerCase()}`;
}

const sameUsername = (username: string) => sql`lower(${users.username}) = lower(${username})`;
const sameEmail = (email: string) => sql`lower(${users.email}) = lower(${email})`;

/** Which of `username` and `email` already belong to someone other than `exceptUserId`. */
export async function findTaken(
  db: Database,
  candidate: { username?: string; email?: string },
  exceptUserId?: string,
): Promise<{ username: boolean; email: boolean }> {
  const conditions = [
    candidate.username === undefined ? undefined : sameUsername(candidate.username),
    candidate.email === undefined ? undefined : sameEmail(candidate.email),
  ].filter((c) => c !== undefined);
  if (conditions.length === 0) return { username: false, email: false };
  const rows = await db
    .select({ username: users.username, email: users.email })
    .from(users)
    .where(and(or(...conditions), exceptUserId ? ne(users.id, exceptUserId) : undefined))
    .all();
  const lower = (s: string | undefined) => s?.toLowerCase();
  return {
    username: rows.some((r) => candidate.username !== undefined && lower(r.username) === lower(candidate.username)),
    email: rows.some((r) => candidate.email !== undefined && lower(r.email) === lower(candidate.email)),
  };
}

/** The user and the first key, written together: a user never exists without the key it was promised. */
export async function createUserWithKey(
  db: Database,
  user: typeof users.$inferInsert,
  key: typeof authKeys.$inferInsert,
): Promise<void> {
  await db.batch([db.insert(users).values(user), db.insert(authKeys).values(key)]);
}

/** By email when one is given, else by username, falling back to email for an address typed as a username. */
export async function findUserForLogin(
  db: Database,
  login: { username?: string; email?: string },
): Promise<User | undefined> {
  if (login.email)
    return db
      .select()
      .from(users)
      .where(sameEmail(normalizeEmail(login.email)))
      .get();
  if (!login.username) return undefined;
  const byUsername = await db
    .select()
    .from(users)
    .where(sameUsername(normalizeUsername(login.username)))
    .get();
  if (byUsername || !login.username.includes("@")) return byUsername;
  return db
    .select()
    .from(users)
    .where(sameEmail(normalizeEmail(login.username)))
    .get();
}

export async function findUserById(db: Database, id: string): Promise<User | undefined> {
  return db.select().from(users).where(eq(users.id, id)).get();
}

export async function updateUser(
  db: Database,
  id: string,
  changes: Partial<Pick<User, "username" | "email" | "firstName" | "lastName">>,
): Promise<User | undefined> {
  return db
    .update(users)
    .set({ ...changes, updatedAt: new Date() })
    .where(eq(users.id, id))
    .returning()
    .get();
}

/** The new hash and the revocation of every other key of the user, atomically. */
export async function changePassword(db: Database, userId: string, passwordHash: string, keepKeyId: string) {
  await db.batch([
    db.update(users).set({ passwordHash, updatedAt: new Date() }).where(eq(users.id, userId)),
    db.delete(authKeys).where(and(eq(authKeys.userId, userId), ne(authKeys.id, keepKeyId))),
  ]);
}

/** True for the error D1 gives when a unique index refuses a row (a race between two sign-ups). */
export const isUniqueViolation = (err: unknown) =>
  err instanceof Error && /UNIQUE constraint failed/i.test(`${err.message} ${String(err.cause ?? "")}`);
