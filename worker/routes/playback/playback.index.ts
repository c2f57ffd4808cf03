import { createRouter } from "../../app/create-app";
import { serveCurrent, serveVersioned } from "./playback.handlers";

/**
 * Playback from storage at stable URLs: `/v/{id}/manifest.mpd`, `/v/{id}/master.m3u8`, `/v/{id}/{file}`,
 * versioned files under `/v/{id}/{version}/`, and the same under `/v/{id}/t/{token}/` for private
 * videos. CORS (any origin by default, PLAYBACK_ALLOWED_ORIGINS) and the streaming limit are
 * the app's, for every `/v/` route (worker/app.ts). These generic routes come last: the viewer
 * features' own files (captions, storyboards, thumbnails, downloads) are routed before them.
 */
export const playbackRouter = createRouter();

playbackRouter.get("/v/:id/t/:token/:version/:file", serveVersioned);
playbackRouter.get("/v/:id/t/:token/:file", serveCurrent);
playbackRouter.get("/v/:id/:version/:file", serveVersioned);
playbackRouter.get("/v/:id/:file", serveCurrent);
