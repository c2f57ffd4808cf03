/**
 * Who is calling: the `Authorization` header resolved to a user once per request. The context
 * variables it sets are declared here, beside the code that sets them.
 */
import type { Context } from "hono";
import { runAfterResponse } from "../app/background";
import { ApiError } from "../app/errors";
import type { AppEnv } from "../app/types";
import { type AuthUser, findKeyOwner, hashKey, KEY_PATTERN, KEY_TOUCH_INTERVAL_MS, revokeKey, touchKey } from "./keys";

export type { AuthUser } from "./keys";

declare module "hono" {
  interface ContextVariableMap {
    /** The caller, when the request presents a valid key. */
    user?: AuthUser;
    /** The id of the key the request presented, e.g. to revoke it on logout. */
    authKeyId?: string;
    /** Set once the caller is known (anonymous or a valid key), so the key is looked up once per request. */
    authResolved?: boolean;
  }
}

export const unauthorized = (message: string) =>
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

/** The current user inside a handler behind `requireUser()`. */
export function currentUser(c: Context<AppEnv>): AuthUser {
  const user = c.get("user");
  if (!user) throw unauthorized("Authentication credentials were not provided");
  return user;
}

/** Admins are users marked `is_admin`, or named in ADMIN_USERNAMES. */
export function isAdmin(user: AuthUser, adminUsernames: string[]): boolean {
  return user.isAdmin || adminUsernames.some((name) => name.toLowerCase() === user.username.toLowerCase());
}
