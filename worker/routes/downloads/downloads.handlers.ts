import type { Context } from "hono";
import { AUDIO_DOWNLOAD_NAME, downloadFileName } from "../../../shared/download-names";
import { ApiError } from "../../app/errors";
import type { AppEnv } from "../../app/types";
import { serveObject } from "../../storage/index";
import { outputKey } from "../../storage/keys";
import { isPublicPlayback, playableVideo } from "../../videos/access";

type C = Context<AppEnv>;

/** The public name of a download (`720p.mp4`, `audio.m4a`) → the stored file and its type. */
export function downloadFile(name: string): { stored: string; contentType: string } | null {
  if (name === "audio.m4a") return { stored: AUDIO_DOWNLOAD_NAME, contentType: "audio/mp4" };
  const height = /^([1-9]\d{1,3})p\.mp4$/.exec(name)?.[1];
  return height ? { stored: downloadFileName(Number(height)), contentType: "video/mp4" } : null;
}

/**
 * `download/<height>p.mp4` and `download/audio.m4a`: the files the encode made for downloading
 * (a standard MP4 of a rung with its audio, the audio alone), as attachments named after the
 * video, with Range. 404 unless the owner allows downloads and the file exists.
 */
export async function serveDownload(c: C) {
  const { id, token, file } = c.req.param() as { id: string; token?: string; file: string };
  const notOffered = () => new ApiError("not_found", "This video is not offered for download in that form");
  const wanted = downloadFile(file);
  if (!wanted) throw notOffered();
  const video = await playableVideo(c, id, token);
  if (!video.downloadable) throw notOffered();
  const res = await serveObject(c.var.services.storage, outputKey(video.id, video.version, wanted.stored), c.req.raw, {
    contentType: wanted.contentType,
    cacheControl: isPublicPlayback(video, token) ? "public, max-age=300" : "private, max-age=300",
    // Slugs are ASCII letters, digits and hyphens, so the name needs no encoding.
    headers: { "content-disposition": `attachment; filename="${video.slug}-${file}"` },
  });
  if (!res) throw notOffered();
  return res;
}
