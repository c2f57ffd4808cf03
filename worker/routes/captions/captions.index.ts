import { createRouter } from "../../app/create-app";
import * as handlers from "./captions.handlers";
import * as routes from "./captions.routes";

/** A caption file or playlist name in a route pattern (the tag is checked by the handler). */
const CAPTION_FILE = ":file{captions_[A-Za-z0-9-]{1,64}\\.(?:vtt|m3u8)}";

/**
 * Captions: the API that adds, lists and removes a video's tracks, and the tracks' files served
 * beside the manifests (`/v/{id}/captions_<lang>.vtt` and `.m3u8`, signed under `/t/{token}/`).
 * The files' routes come before the generic playback routes (worker/app.ts).
 */
export const captionsRouter = createRouter()
  .openapi(routes.putCaption, handlers.putCaption)
  .openapi(routes.listCaptions, handlers.listCaptions)
  .openapi(routes.deleteCaption, handlers.deleteCaption);

captionsRouter.get(`/v/:id/t/:token/${CAPTION_FILE}`, handlers.serveCaptionFile);
captionsRouter.get(`/v/:id/${CAPTION_FILE}`, handlers.serveCaptionFile);
routes.registerCaptionFileDocs(captionsRouter);
