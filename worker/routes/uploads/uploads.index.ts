import { createRouter } from "../../app/create-app";
import { requireUser } from "../../middleware/auth";
import { TUS_PATH } from "../../uploads/tus";
import { classicUpload, tusUpload } from "./uploads.handlers";

/**
 * Uploads: the classic one-request endpoint and the tus 1.0 resumable endpoint. Their bodies are
 * streams, so the routes are plain handlers; their OpenAPI entries are in uploads.routes.ts.
 */
export const uploadsRouter = createRouter();

uploadsRouter.post("/api/videos/upload", requireUser(), classicUpload);

uploadsRouter.options(`${TUS_PATH}/*`, tusUpload);
uploadsRouter.options(TUS_PATH, tusUpload);
uploadsRouter.post(TUS_PATH, requireUser(), tusUpload);
// Hono answers HEAD through the GET route (the handler still sees the original HEAD request).
uploadsRouter.on(["GET", "PATCH", "DELETE"], `${TUS_PATH}/:id`, requireUser(), tusUpload);

export { registerUploadDocs } from "./uploads.routes";
