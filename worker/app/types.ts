import type { OpenAPIHono, RouteConfig, RouteHandler } from "@hono/zod-openapi";
import type { Database } from "../db/client";
import type { Services } from "../services";
import type { Logger } from "./logger";
import type { Settings } from "./settings";

/**
 * What every request carries: the bindings, and the services the request context builds. Variables
 * that a middleware sets (the caller, …) are declared by that middleware in Hono's
 * `ContextVariableMap`, beside the code that sets them.
 */
export interface AppEnv {
  Bindings: Env;
  Variables: {
    requestId: string;
    services: Services;
    logger: Logger;
    settings: Settings;
    db: Database;
  };
}

export type AppOpenAPI = OpenAPIHono<AppEnv>;
export type AppRouteHandler<R extends RouteConfig> = RouteHandler<R, AppEnv>;
