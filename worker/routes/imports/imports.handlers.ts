import type { AppRouteHandler } from "../../app/types";
import { currentUser } from "../../auth/authenticate";
import { publicPlaybackUrls } from "../../playback/urls";
import { startImport } from "../../uploads/import";
import { serializeVideo } from "../../videos/videos.data";
import type * as routes from "./imports.routes";

/** POST /api/videos/import/: checked and queued here; the queue's consumer fetches the URL. */
export const createImport: AppRouteHandler<typeof routes.createImport> = async (c) => {
  const user = currentUser(c);
  const video = await startImport(c.var.services, user.id, c.req.valid("json"));
  const origin = new URL(c.req.url).origin;
  c.header("Location", `${origin}/api/videos/${video.id}/`);
  return c.json(serializeVideo(video, [], user, publicPlaybackUrls(video, origin)), 202);
};
