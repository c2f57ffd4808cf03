import type { Context } from "hono";
import { storyboardVtt, thumbnailFrameAt } from "../../../shared/storyboard-index";
import { ApiError } from "../../app/errors";
import type { AppEnv } from "../../app/types";
import { serveText } from "../../playback/text-response";
import { serveObject } from "../../storage/index";
import { outputKey } from "../../storage/keys";
import { isPublicPlayback, playableVideo } from "../../videos/access";

type C = Context<AppEnv>;

const noStoryboard = () => new ApiError("not_found", "This video has no storyboard");

/** A playback path's parts, signed or not. */
const pathOf = (c: C) => c.req.param() as { id: string; token?: string };

const badQuery = (path: string, message: string) =>
  new ApiError("validation_error", `Invalid request: ${path}`, {
    details: [{ path, message, code: "invalid_format" }],
  });

/**
 * `storyboard.vtt`: the WebVTT index of the seek-bar previews, written from the served version's
 * layout. Its cues point into that version's folder, so the sheets are cached as immutable like
 * its segments, and a new version's index names its own sheets.
 */
export async function serveStoryboardIndex(c: C) {
  const { id, token } = pathOf(c);
  const video = await playableVideo(c, id, token);
  const layout = video.storyboard;
  if (!layout || video.duration === null) throw noStoryboard();
  const index = storyboardVtt(layout, video.duration, layout.parts, `${video.version}/`);
  return serveText(c.req.raw, index, {
    contentType: "text/vtt; charset=utf-8",
    cacheControl: isPublicPlayback(video, token) ? "public, max-age=60" : "private, max-age=60",
  });
}

/**
 * `thumbnail.jpg?time=S&width=W`: the stored frame nearest S seconds, at the stored width nearest
 * W (default: the smallest). Refused 400 for a time that is malformed or past the end.
 */
export async function serveThumbnail(c: C) {
  const { id, token } = pathOf(c);
  const video = await playableVideo(c, id, token);
  const time = c.req.query("time");
  const width = c.req.query("width");
  if (time === undefined || !/^\d{1,6}(\.\d{1,6})?$/.test(time)) {
    throw badQuery("time", "must be a number of seconds from the start, such as 12 or 12.5");
  }
  if (width !== undefined && !/^[1-9]\d{0,4}$/.test(width)) {
    throw badQuery("width", "must be a width in pixels, such as 320");
  }
  const layout = video.storyboard;
  if (!layout || video.duration === null) throw new ApiError("not_found", "This video has no stored thumbnails");
  const seconds = Number(time);
  const frame = thumbnailFrameAt(layout, seconds, video.duration, width === undefined ? undefined : Number(width));
  if (!frame) {
    throw new ApiError("validation_error", `The time ${seconds} s is past the end of the video (${video.duration} s)`, {
      details: [{ path: "time", message: `must be at most ${video.duration}`, code: "too_big" }],
    });
  }
  const res = await serveObject(c.var.services.storage, outputKey(video.id, video.version, frame.name), c.req.raw, {
    contentType: "image/jpeg",
    cacheControl: isPublicPlayback(video, token) ? "public, max-age=300" : "private, max-age=300",
  });
  if (!res) throw new ApiError("not_found", "That thumbnail is not stored");
  return res;
}
