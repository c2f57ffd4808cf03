import { createRouter } from "../../app/create-app";
import * as handlers from "./auth.handlers";
import * as routes from "./auth.routes";

/** dj-rest-auth compatible accounts: sign-up, log in/out, the current user, password change. */
export const authRouter = createRouter()
  .openapi(routes.register, handlers.register)
  .openapi(routes.login, handlers.login)
  .openapi(routes.logout, handlers.logout)
  .openapi(routes.getUser, handlers.getUser)
  .openapi(routes.patchUser, handlers.patchUser)
  .openapi(routes.putUser, handlers.patchUser)
  .openapi(routes.changePassword, handlers.changePassword);
