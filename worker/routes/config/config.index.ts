import { createRouter } from "../../app/create-app";
import * as handlers from "./config.handlers";
import * as routes from "./config.routes";

/** What the deployment offers clients (the web app picks its upload path from it). */
export const configRouter = createRouter().openapi(routes.getConfig, handlers.getConfig);
