import { createRouter } from "../../app/create-app";
import * as handlers from "./direct-uploads.handlers";
import * as routes from "./direct-uploads.routes";

/** Uploads straight to the bucket through presigned part URLs. */
export const directUploadsRouter = createRouter()
  .openapi(routes.createDirectUpload, handlers.createDirectUpload)
  .openapi(routes.directUploadParts, handlers.directUploadParts)
  .openapi(routes.completeDirectUpload, handlers.completeUpload)
  .openapi(routes.abortDirectUpload, handlers.abortUpload);
