import { createRouter } from "../../app/create-app";
import * as handlers from "./imports.handlers";
import * as routes from "./imports.routes";

/** Imports from a URL: the request is checked and queued; the `import` queue's consumer fetches. */
export const importsRouter = createRouter().openapi(routes.createImport, handlers.createImport);
