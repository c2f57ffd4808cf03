import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { ApiError } from "../app/errors";
import type { AppEnv } from "../app/types";

/** The largest JSON request body the API reads: far above any real request, far below the memory of a Worker. */
export const MAX_JSON_BODY_BYTES = 1024 * 1024;

/** `application/json` and `application/<anything>+json`, with or without parameters (as the validators read them). */
const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json$/;

export const isJsonMediaType = (contentType: string | undefined) =>
  JSON_MEDIA_TYPE.test((contentType ?? "").split(";")[0]?.trim().toLowerCase() ?? "");

/**
 * Refuses JSON bodies above `maxBytes` with 413 `payload_too_large`, before they are parsed: by
 * the declared Content-Length when there is one, otherwise while the body streams in. Bodies of
 * other types pass untouched (uploads stream and have their own limits; the JSON routes answer
 * any other type 415 without reading it).
 *
 * @example
 * app.use("/api/*", jsonBodyLimit());
 */
export function jsonBodyLimit(options: { maxBytes?: number } = {}): MiddlewareHandler<AppEnv> {
  const maxBytes = options.maxBytes ?? MAX_JSON_BODY_BYTES;
  const limit = bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw new ApiError("payload_too_large", `A JSON request body is at most ${maxBytes} bytes`);
    },
  });
  return async function jsonBodyLimit(c, next) {
    if (!isJsonMediaType(c.req.header("content-type"))) return next();
    return limit(c, next);
  };
}

/**
 * The whole body of a small upload that a handler checks before storing it (a caption file), read
 * only up to `maxBytes`: refused 413 `payload_too_large` by its declared Content-Length before a
 * byte is read, or as soon as more arrives than that.
 */
export async function readBodyUpTo(request: Request, maxBytes: number, what: string): Promise<Uint8Array> {
  const tooLarge = () => new ApiError("payload_too_large", `${what} is at most ${maxBytes} bytes`);
  const declared = Number(request.headers.get("content-length") ?? Number.NaN);
  if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge();
  if (!request.body) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = request.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => {});
      throw tooLarge();
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  return bytes;
}
