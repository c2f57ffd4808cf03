import { createRouter } from "../../app/create-app";
import * as handlers from "./admin.handlers";
import * as routes from "./admin.routes";
import * as runnerHandlers from "./runners.handlers";
import * as runnerRoutes from "./runners.routes";

/** Admins only (users marked `is_admin`, or named in ADMIN_USERNAMES): statistics, storage, runners. */
export const adminRouter = createRouter()
  .openapi(routes.storage, handlers.videoStorage)
  .openapi(routes.stats, handlers.platformStats)
  .openapi(runnerRoutes.createRunner, runnerHandlers.createRunner)
  .openapi(runnerRoutes.listRunners, runnerHandlers.listRunners)
  .openapi(runnerRoutes.revokeRunner, runnerHandlers.revokeRunner);
