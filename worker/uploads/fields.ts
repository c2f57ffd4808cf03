/** The descriptive fields of an upload (classic form fields or tus metadata), validated once. */
import { z } from "@hono/zod-openapi";
import { parseQuality, type Settings } from "../app/settings";
import { VISIBILITIES } from "../db/schema";

// Control characters (C0, DEL, C1) have no place in a title.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
// Bidirectional embeddings, overrides and isolates reorder the text around them, so a title could
// be shown as something other than what it says (e.g. "clip\u202Egnp.exe" reads "clipexe.png").
const BIDI_CONTROL = /[\u202a-\u202e\u2066-\u2069]/;

export const UploadFieldsSchema = z.object({
  title: z
    .string({ error: "A title is required" })
    .transform((s) => s.trim())
    .pipe(
      z
        .string()
        .min(1, "The title must not be empty")
        .max(200, "The title is at most 200 characters")
        .refine((s) => !CONTROL.test(s), "The title must not contain control characters")
        .refine((s) => !BIDI_CONTROL.test(s), "The title must not contain bidirectional override characters"),
    ),
  description: z
    .string()
    .max(5000, "The description is at most 5000 characters")
    .refine((s) => !s.includes(String.fromCharCode(0)), "The description must not contain NUL characters")
    .optional()
    .default(""),
  visibility: z.enum(VISIBILITIES, { error: "Visibility is public, unlisted or private" }).optional().default("public"),
  max_resolution: z
    .string()
    .regex(/^\d{3,4}p?$/i, "max_resolution is a height such as 720p or 1080p")
    .optional(),
});

export interface UploadFields {
  title: string;
  description: string;
  visibility: (typeof VISIBILITIES)[number];
  maxResolution: number;
}

export type FieldErrors = { path: string; message: string }[];

/** Parses the fields; `max_resolution` defaults to DEFAULT_VIDEO_QUALITY and is capped by MAX_VIDEO_QUALITY. */
export function parseUploadFields(
  raw: Record<string, string | null | undefined>,
  settings: Settings,
): { ok: true; value: UploadFields } | { ok: false; errors: FieldErrors } {
  const cleaned = Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== null && v !== undefined));
  const result = UploadFieldsSchema.safeParse(cleaned);
  if (!result.success) {
    return { ok: false, errors: result.error.issues.map((i) => ({ path: i.path.join("."), message: i.message })) };
  }
  const asked = result.data.max_resolution
    ? parseQuality(result.data.max_resolution, settings.defaultVideoQuality)
    : settings.defaultVideoQuality;
  if (asked > settings.maxVideoQuality || asked < 144) {
    return {
      ok: false,
      errors: [{ path: "max_resolution", message: `max_resolution is between 144p and ${settings.maxVideoQuality}p` }],
    };
  }
  return {
    ok: true,
    value: {
      title: result.data.title,
      description: result.data.description,
      visibility: result.data.visibility,
      maxResolution: asked,
    },
  };
}
