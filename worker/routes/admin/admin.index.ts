import { createRouter } from "../../app/create-app";
import * as handlers from "./admin.handlers";
import * as routes from "./admin.routes";

/** Admins only (users marked `is_admin`, or named in ADMIN_USERNAMES): statistics and storage. */
export const adminRouter = createRouter()
  .openapi(routes.storage, handlers.videoStorage)
  .openapi(routes.stats, handlers.platformStats);
