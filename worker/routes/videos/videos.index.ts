import { createRouter } from "../../app/create-app";
import * as handlers from "./videos.handlers";
import * as routes from "./videos.routes";

export const videosRouter = createRouter()
  .openapi(routes.listVideos, handlers.listVideos)
  .openapi(routes.downloadSource, handlers.downloadSource)
  .openapi(routes.createPlaybackToken, handlers.createPlaybackToken)
  .openapi(routes.reprocessVideo, handlers.reprocessVideo)
  .openapi(routes.getVideo, handlers.getVideo)
  .openapi(routes.patchVideo, handlers.patchVideo)
  .openapi(routes.deleteVideo, handlers.deleteVideo);
