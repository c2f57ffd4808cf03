import { createRoute, z } from "@hono/zod-openapi";
import { errorResponse, openApiErrorResponses } from "../../app/errors";
import { API_KEY_SECURITY, PRIVATE_PLAYBACK_NOTE } from "../../app/openapi";
import type { AppOpenAPI } from "../../app/types";
import { CAPTION_MAX_BYTES } from "../../captions/webvtt";
import { CAPTION_KINDS } from "../../db/schema";
import { requireUser } from "../../middleware/auth";

const tags = ["Captions"];

const IdParams = z.object({ id: z.string().min(1).max(200).openapi({ description: "The video's id" }) });
const LangParams = IdParams.extend({
  lang: z
    .string()
    .min(1)
    .max(200)
    .openapi({ description: "A BCP 47 language tag, in any case (`en`, `pt-BR`, `zh-Hant-TW`)", example: "en-US" }),
});

/** Labels are what a captions menu shows: short, one line. */
export const CAPTION_LABEL_MAX_LENGTH = 100;

export const CaptionSchema = z
  .object({
    lang: z.string().openapi({ description: "The tag in canonical case", example: "en-US" }),
    label: z.string().openapi({ example: "American English" }),
    kind: z.enum(CAPTION_KINDS).openapi({
      description: "`subtitles`: the dialogue; `captions`: also sounds, for viewers who do not hear",
    }),
    url: z.string().nullable().openapi({
      description: "The WebVTT file (signed for the owner of a private video); null until the video can be played",
    }),
    size: z.number().int().openapi({ description: "Bytes of the stored WebVTT file" }),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi("Caption");

export const CaptionUploadSchema = CaptionSchema.extend({
  cues: z.number().int().openapi({ description: "Cues in the file" }),
}).openapi("CaptionUpload");

const captionFile = z.string().openapi({ type: "string", format: "binary" });

export const putCaption = createRoute({
  method: "put",
  path: "/api/videos/{id}/captions/{lang}",
  tags,
  summary: "Add or replace the caption track of one language (owner only)",
  description:
    `The body is the file itself, WebVTT or SubRip (SRT, converted to WebVTT), UTF-8, at most ${CAPTION_MAX_BYTES} ` +
    "bytes (413 beyond). The format follows `Content-Type` (`text/vtt`; `application/x-subrip` or `text/srt`), " +
    "or the file's first line when the type says nothing (`text/plain`, `application/octet-stream`, none). A " +
    "malformed file is refused 400 `invalid_caption` naming the line that failed (`details.line`). The track is " +
    "stored beside the video's encodes: it is in the DASH and HLS manifests at once, no encode runs, and it " +
    "stays when the video is reprocessed. `?label=` names it in players' menus (default: the language's name, " +
    "e.g. `American English`); `?kind=captions` marks captions that also describe sounds.",
  middleware: [requireUser()] as const,
  security: API_KEY_SECURITY,
  request: {
    params: LangParams,
    query: z.object({
      label: z
        .string()
        .optional()
        .openapi({ description: `What a captions menu shows, at most ${CAPTION_LABEL_MAX_LENGTH} characters` }),
      kind: z.enum(CAPTION_KINDS).optional().openapi({ description: "Default `subtitles`" }),
    }),
    body: {
      required: true,
      content: {
        "text/vtt": { schema: captionFile },
        "application/x-subrip": { schema: captionFile },
        "text/plain": { schema: captionFile },
      },
    },
  },
  responses: {
    200: { description: "Replaced", content: { "application/json": { schema: CaptionUploadSchema } } },
    201: { description: "Added", content: { "application/json": { schema: CaptionUploadSchema } } },
    413: errorResponse(`The file is larger than ${CAPTION_MAX_BYTES} bytes.`),
    415: errorResponse("The body's Content-Type is not a caption file's."),
    ...openApiErrorResponses,
  },
});

export const listCaptions = createRoute({
  method: "get",
  path: "/api/videos/{id}/captions",
  tags,
  summary: "The caption tracks of a video",
  description: "Anyone who may see the video may list its tracks; a private video's are its owner's only.",
  security: [...API_KEY_SECURITY, {}],
  request: { params: IdParams },
  responses: {
    200: {
      description: "The tracks, by language tag",
      content: { "application/json": { schema: z.object({ results: z.array(CaptionSchema) }) } },
    },
    404: openApiErrorResponses[404],
    429: openApiErrorResponses[429],
  },
});

export const deleteCaption = createRoute({
  method: "delete",
  path: "/api/videos/{id}/captions/{lang}",
  tags,
  summary: "Remove the caption track of one language (owner only)",
  description: "The track leaves the manifests at once; nothing is encoded.",
  middleware: [requireUser()] as const,
  security: API_KEY_SECURITY,
  request: { params: LangParams },
  responses: { 204: { description: "Removed" }, ...openApiErrorResponses },
});

/** The caption files' entries: playback files served beside the manifests, with their own router. */
export function registerCaptionFileDocs(app: AppOpenAPI) {
  app.openAPIRegistry.registerPath({
    method: "get",
    path: "/v/{id}/captions_{lang}.vtt",
    tags: ["Playback"],
    summary: "A caption track's WebVTT file",
    description:
      "The file both DASH and HLS players fetch (with `X-TIMESTAMP-MAP` for HLS); `captions_{lang}.m3u8` beside " +
      `it is the track's HLS media playlist. Range and ETag as for every playback file. ${PRIVATE_PLAYBACK_NOTE}`,
    security: [...API_KEY_SECURITY, {}],
    request: { params: LangParams },
    responses: {
      200: { description: "The WebVTT file", content: { "text/vtt": { schema: z.string() } } },
      206: { description: "A byte range of it" },
      404: openApiErrorResponses[404],
    },
  });
}
