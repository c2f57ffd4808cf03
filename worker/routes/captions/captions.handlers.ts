import type { Context } from "hono";
import { ApiError } from "../../app/errors";
import type { AppEnv, AppRouteHandler } from "../../app/types";
import { captionsOf, removeCaption, saveCaption } from "../../captions/captions.data";
import { defaultCaptionLabel, normaliseLanguageTag } from "../../captions/language";
import { CAPTION_PLAYBACK_NAME, vttWithTimestampMap } from "../../captions/tracks";
import { CAPTION_MAX_BYTES, type CaptionFormat, readCaptionFile } from "../../captions/webvtt";
import type { Caption, Video } from "../../db/schema";
import { readBodyUpTo } from "../../middleware/body-limit";
import { captionPlaylist } from "../../playback/served-manifests";
import { serveText } from "../../playback/text-response";
import { captionUrl } from "../../playback/urls";
import { serveObject } from "../../storage/index";
import { captionKey } from "../../storage/keys";
import { isPublicPlayback, ownVideo, playableVideo, playbackFor, visibleVideo } from "../../videos/access";
import type * as routes from "./captions.routes";
import { CAPTION_LABEL_MAX_LENGTH, type putCaption as putRoute } from "./captions.routes";

type C = Context<AppEnv>;

/** What the stored files are served as. */
const VTT_TYPE = "text/vtt; charset=utf-8";

/** The tag in canonical case, or 400 naming what a tag looks like. */
function languageTag(raw: string): string {
  const lang = normaliseLanguageTag(raw);
  if (lang === null) {
    throw new ApiError("validation_error", `"${raw.slice(0, 80)}" is not a BCP 47 language tag`, {
      details: [
        {
          path: "lang",
          message: "must be a BCP 47 language tag such as en, en-US or zh-Hant-TW",
          code: "invalid_format",
        },
      ],
    });
  }
  return lang;
}

/** The label a track is shown with: the caller's (one line, not too long), or the language's name. */
function trackLabel(raw: string | undefined, lang: string): string {
  if (raw === undefined || raw.trim() === "") return defaultCaptionLabel(lang);
  const label = raw.trim();
  // Control characters (line breaks included) would break the HLS master's quoted NAME.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: they are what is refused
  if (label.length > CAPTION_LABEL_MAX_LENGTH || /[\u0000-\u001f\u007f-\u009f]/.test(label)) {
    throw new ApiError("validation_error", "Invalid caption label", {
      details: [
        {
          path: "label",
          message: `must be one line of at most ${CAPTION_LABEL_MAX_LENGTH} characters`,
          code: "invalid_format",
        },
      ],
    });
  }
  return label;
}

/** The caption format a Content-Type names; undefined: detect it from the file; null: not a caption type. */
function declaredFormat(contentType: string | undefined): CaptionFormat | undefined | null {
  const type = (contentType ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
  if (type === "text/vtt") return "vtt";
  if (["application/x-subrip", "application/srt", "text/srt", "text/x-srt"].includes(type)) return "srt";
  if (["", "text/plain", "application/octet-stream"].includes(type)) return undefined;
  return null;
}

async function captionJson(c: C, video: Video, caption: Caption) {
  const { base } = await playbackFor(c, video);
  return {
    lang: caption.lang,
    label: caption.label,
    kind: caption.kind,
    url: base === null ? null : captionUrl(base, caption.lang),
    size: caption.size,
    created_at: caption.createdAt.toISOString(),
    updated_at: caption.updatedAt.toISOString(),
  };
}

export const putCaption: AppRouteHandler<typeof putRoute> = async (c) => {
  const { id, lang: rawLang } = c.req.valid("param");
  const query = c.req.valid("query");
  const video = await ownVideo(c, id);
  const lang = languageTag(rawLang);
  const label = trackLabel(query.label, lang);
  const format = declaredFormat(c.req.header("content-type"));
  if (format === null) {
    throw new ApiError(
      "unsupported_media_type",
      "A caption file is sent as text/vtt, application/x-subrip (SRT) or text/plain",
    );
  }
  const bytes = await readBodyUpTo(c.req.raw, CAPTION_MAX_BYTES, "A caption file");
  const file = readCaptionFile(bytes, format);
  if (!file.ok) {
    throw new ApiError("invalid_caption", `Invalid caption file: ${file.message}`, {
      details: { line: file.line, reason: file.reason },
    });
  }
  // The timestamp map hls.js and Apple's players read is a header line DASH players skip, so
  // one stored file serves both, exactly as it is stored (Range, ETag).
  const vtt = vttWithTimestampMap(file.vtt, 0);
  const stored = await c.var.services.storage.put(captionKey(video.id, lang), vtt, { contentType: VTT_TYPE });
  const { caption, created } = await saveCaption(c.var.db, {
    videoId: video.id,
    lang,
    label,
    kind: query.kind ?? "subtitles",
    size: stored?.size ?? new TextEncoder().encode(vtt).byteLength,
  });
  c.var.logger.info(created ? "caption added" : "caption replaced", {
    videoId: video.id,
    lang,
    cues: file.cues.length,
  });
  return c.json({ ...(await captionJson(c, video, caption)), cues: file.cues.length }, created ? 201 : 200);
};

export const listCaptions: AppRouteHandler<typeof routes.listCaptions> = async (c) => {
  const { id } = c.req.valid("param");
  const video = await visibleVideo(c, id);
  if (video.id !== id) throw new ApiError("not_found", "No such video");
  const rows = await captionsOf(c.var.db, video.id);
  return c.json({ results: await Promise.all(rows.map((row) => captionJson(c, video, row))) }, 200);
};

export const deleteCaption: AppRouteHandler<typeof routes.deleteCaption> = async (c) => {
  const { id, lang: rawLang } = c.req.valid("param");
  const video = await ownVideo(c, id);
  const lang = languageTag(rawLang);
  // Storage first: if this fails the row remains, and deleting again finishes the job.
  await c.var.services.storage.delete(captionKey(video.id, lang));
  if (!(await removeCaption(c.var.db, video.id, lang))) {
    throw new ApiError("not_found", `The video has no ${lang} captions`);
  }
  c.var.logger.info("caption removed", { videoId: video.id, lang });
  return c.body(null, 204);
};

/**
 * `captions_<lang>.vtt` and `captions_<lang>.m3u8` beside the manifests, under the same access
 * rules as every playback file: the WebVTT file as stored, and its one-segment HLS playlist.
 */
export async function serveCaptionFile(c: C) {
  const { id, file, token } = c.req.param() as { id: string; file: string; token?: string };
  const [, tag = "", extension] = CAPTION_PLAYBACK_NAME.exec(file) ?? [];
  const notFound = () => new ApiError("not_found", "No such caption track");
  // Only the canonical spelling is served, so each track has one URL (and one cache entry).
  if (normaliseLanguageTag(tag) !== tag) throw notFound();
  const video = await playableVideo(c, id, token);
  const cacheControl = isPublicPlayback(video, token) ? "public, max-age=60" : "private, max-age=60";
  if (extension === "vtt") {
    const res = await serveObject(c.var.services.storage, captionKey(video.id, tag), c.req.raw, {
      contentType: VTT_TYPE,
      cacheControl,
    });
    if (!res) throw notFound();
    return res;
  }
  const tracks = await captionsOf(c.var.db, video.id);
  if (!tracks.some((t) => t.lang === tag)) throw notFound();
  return serveText(c.req.raw, captionPlaylist(tag, video.duration ?? 0), {
    contentType: "application/vnd.apple.mpegurl",
    cacheControl,
  });
}
