import type { MiddlewareHandler } from "hono";
import { ApiError } from "../app/errors";
import type { AppEnv } from "../app/types";
import { authenticate, currentUser, isAdmin, unauthorized } from "../auth/authenticate";

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

/**
 * Answers 401 without a valid key and 403 unless the caller is an admin.
 *
 * @example
 * createRoute({ method: "get", path: "/api/admin/stats", middleware: [requireAdmin()] as const, ... });
 */
export function requireAdmin(): MiddlewareHandler<AppEnv> {
  return async function requireAdmin(c, next) {
    const user = await authenticate(c);
    if (!user) throw unauthorized("Authentication credentials were not provided");
    if (!isAdmin(currentUser(c), c.var.settings.adminUsernames)) {
      throw new ApiError("forbidden", "Only admins may do this");
    }
    await next();
  };
}
