import { z } from "@hono/zod-openapi";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";

/** Every error the API answers with, and the HTTP status each one maps to. */
export const ERROR_CODES = {
  bad_request: 400,
  validation_error: 400,
  invalid_json: 400,
  /** A caption file that is not valid WebVTT or SRT; `details.line` names the line. */
  invalid_caption: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  gone: 410,
  length_required: 411,
  precondition_failed: 412,
  payload_too_large: 413,
  unsupported_media_type: 415,
  range_not_satisfiable: 416,
  rate_limited: 429,
  internal_error: 500,
  not_implemented: 501,
  service_unavailable: 503,
} as const satisfies Record<string, ContentfulStatusCode>;

export type ErrorCode = keyof typeof ERROR_CODES;

export function codeToStatus(code: ErrorCode): ContentfulStatusCode {
  return ERROR_CODES[code];
}

/** The one error shape of the API: `{"error": {"code", "message", "details?", "requestId"}}`. */
export const ErrorEnvelopeSchema = z
  .object({
    error: z.object({
      code: z.enum(Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]]).openapi({ example: "not_found" }),
      message: z.string().openapi({ example: "No route matches GET /nope" }),
      details: z.unknown().optional(),
      requestId: z.string().openapi({ example: "6d4f0c1e-2f43-4c5e-9a7b-6c1f9f3b2a10" }),
    }),
  })
  .openapi("Error");

export type ErrorEnvelope = z.infer<typeof ErrorEnvelopeSchema>;

/** Throw anywhere in a request: `onError` answers it in the envelope. */
export class ApiError extends HTTPException {
  readonly code: ErrorCode;
  readonly details: unknown;
  readonly headers: Record<string, string>;

  constructor(code: ErrorCode, message: string, options: { details?: unknown; headers?: Record<string, string> } = {}) {
    super(codeToStatus(code), { message });
    this.code = code;
    this.details = options.details;
    this.headers = options.headers ?? {};
  }
}

export function errorBody(code: ErrorCode, message: string, requestId: string, details?: unknown): ErrorEnvelope {
  return { error: { code, message, ...(details === undefined ? {} : { details }), requestId } };
}

/** Maps an HTTP status that did not come from an ApiError (e.g. Hono's own) to a code. */
export function statusToCode(status: number): ErrorCode {
  const entry = Object.entries(ERROR_CODES).find(([, s]) => s === status);
  if (entry) return entry[0] as ErrorCode;
  return status >= 500 ? "internal_error" : "bad_request";
}

const errorContent = (description: string) => ({
  content: { "application/json": { schema: ErrorEnvelopeSchema } },
  description,
});

/** The error answers any route may give, spread into every route's `responses`. */
export const openApiErrorResponses = {
  400: errorContent("The request is malformed or fails validation; `details` names the fields."),
  401: errorContent("Authentication is missing or the key is not valid."),
  403: errorContent("The caller may not do this."),
  404: errorContent("Nothing is found at this path."),
  429: errorContent("A rate limit is reached; `Retry-After` says when to try again."),
  500: errorContent("The server failed; the request id identifies it in the logs."),
} as const;

export const errorResponse = errorContent;
