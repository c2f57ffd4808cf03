import { createRouter } from "../../app/create-app";
import { serveStoryboardIndex, serveThumbnail } from "./storyboards.handlers";
import { registerStoryboardDocs } from "./storyboards.routes";

/**
 * Storyboards and thumbnails by time, as playback files (`/v/{id}/…`, signed under
 * `/v/{id}/t/{token}/…`). The sheets themselves are plain files of the version, served by the
 * playback routes. These routes come before the generic playback routes (worker/app.ts).
 */
export const storyboardsRouter = createRouter();

for (const base of ["/v/:id/t/:token", "/v/:id"]) {
  storyboardsRouter.get(`${base}/storyboard.vtt`, serveStoryboardIndex);
  storyboardsRouter.get(`${base}/thumbnail.jpg`, serveThumbnail);
}
registerStoryboardDocs(storyboardsRouter);
