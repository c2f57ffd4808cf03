import type { OpenAPIHono, RouteConfig, RouteHandler } from "@hono/zod-openapi";
import type { Database } from "../db/client";
import type { AuthUser } from "./auth";
import type { Logger } from "./logger";
import type { RateLimitPolicyName } from "./rate-limit";
import type { Settings } from "./settings";

/** What every request carries: the bindings, and the per-request services built in middleware. */
export interface AppEnv {
  Bindings: Env;
  Variables: {
    requestId: string;
    logger: Logger;
    settings: Settings;
    db: Database;
    /** The caller, when the request presents a valid key (set by `optionalUser`/`requireUser`). */
    user?: AuthUser;
    /** The id of the key the request presented, e.g. to revoke it on logout. */
    authKeyId?: string;
    /** Set once the caller is known (anonymous or a valid key), so the key is looked up once per request. */
    authResolved?: boolean;
    /** The general rate limit an API route's own `rateLimit()` checks in the same call. */
    rateLimitGeneral?: RateLimitPolicyName;
  };
}

export type AppOpenAPI = OpenAPIHono<AppEnv>;
export type AppRouteHandler<R extends RouteConfig> = RouteHandler<R, AppEnv>;
