import type { AppRouteHandler } from "../../app/types";
import type { HealthzRoute } from "./health.routes";

export const healthz: AppRouteHandler<HealthzRoute> = (c) => c.json({ ok: true as const }, 200);
