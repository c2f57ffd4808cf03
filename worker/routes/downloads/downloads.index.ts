import { createRouter } from "../../app/create-app";
import { serveDownload } from "./downloads.handlers";
import { registerDownloadDocs } from "./downloads.routes";

/**
 * Downloads (`/v/{id}/download/<height>p.mp4`, `…/audio.m4a`, signed under `/v/{id}/t/{token}/`),
 * before the generic playback routes that would take `download` for a version (worker/app.ts).
 */
export const downloadsRouter = createRouter();

downloadsRouter.get("/v/:id/t/:token/download/:file", serveDownload);
downloadsRouter.get("/v/:id/download/:file", serveDownload);
registerDownloadDocs(downloadsRouter);
