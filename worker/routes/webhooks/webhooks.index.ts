import { createRouter } from "../../app/create-app";
import * as handlers from "./webhooks.handlers";
import * as routes from "./webhooks.routes";

export const webhooksRouter = createRouter()
  .openapi(routes.getWebhook, handlers.getWebhook)
  .openapi(routes.putWebhook, handlers.putWebhook)
  .openapi(routes.deleteWebhook, handlers.deleteWebhook);
