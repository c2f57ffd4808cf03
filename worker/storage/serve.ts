/**
 * Serves a stored object as an HTTP answer from any ObjectStore, streamed: single byte ranges
 * (206; an unsatisfiable one throws the 416 `ApiError`), strong ETags with If-None-Match (304),
 * HEAD, and the caching headers the caller sets.
 *
 * A plain GET costs one storage request (the object's headers come with its body). A Range or
 * If-None-Match needs the size or the ETag first, so it reads the object's metadata before its
 * bytes.
 */
import { ApiError } from "../app/errors";
import { parseRange } from "../playback/range";
import { bareEtag, type ObjectInfo, type ObjectStore } from "./store";

export interface ServeOptions {
  /** Overrides the stored content type. */
  contentType?: string;
  cacheControl?: string;
  headers?: Record<string, string>;
}

/** The answer for `key`, or null when there is no such object. */
export async function serveObject(
  store: ObjectStore,
  key: string,
  request: Request,
  options: ServeOptions = {},
): Promise<Response | null> {
  const isHead = request.method === "HEAD";
  const rangeHeader = request.headers.get("range");
  const ifNoneMatch = request.headers.get("if-none-match");

  if (!rangeHeader && !ifNoneMatch) {
    if (isHead) {
      const head = await store.head(key);
      return head && new Response(null, { status: 200, headers: objectHeaders(head, head.size, options) });
    }
    const object = await store.get(key);
    return object && new Response(object.body, { status: 200, headers: objectHeaders(object, object.size, options) });
  }

  const head = await store.head(key);
  if (!head) return null;
  if (ifNoneMatch && matchesAny(ifNoneMatch, head.etag)) {
    return new Response(null, { status: 304, headers: objectHeaders(head, undefined, options) });
  }
  const range = parseRange(rangeHeader, head.size);
  if (range.kind === "unsatisfiable") {
    // In the error envelope like every other refusal, with the size a client needs to retry.
    const message = `No byte of the requested range lies within this ${head.size}-byte file`;
    throw new ApiError("range_not_satisfiable", message, { headers: { "Content-Range": `bytes */${head.size}` } });
  }
  if (range.kind === "none") {
    const headers = objectHeaders(head, head.size, options);
    if (isHead) return new Response(null, { status: 200, headers });
    const object = await store.get(key);
    return object && new Response(object.body, { status: 200, headers });
  }
  const headers = objectHeaders(head, range.length, options);
  headers.set("content-range", `bytes ${range.offset}-${range.offset + range.length - 1}/${head.size}`);
  if (isHead) return new Response(null, { status: 206, headers });
  const object = await store.get(key, { range: { offset: range.offset, length: range.length } });
  return object && new Response(object.body, { status: 206, headers });
}

function objectHeaders(object: ObjectInfo, contentLength: number | undefined, options: ServeOptions): Headers {
  const headers = new Headers(options.headers);
  headers.set("accept-ranges", "bytes");
  headers.set("etag", object.httpEtag);
  headers.set("content-type", options.contentType ?? object.contentType ?? "application/octet-stream");
  if (options.cacheControl) headers.set("cache-control", options.cacheControl);
  if (contentLength !== undefined) headers.set("content-length", String(contentLength));
  return headers;
}

/** If-None-Match compares weakly (RFC 9110 §13.1.2): `W/"x"` matches `"x"`. */
function matchesAny(ifNoneMatch: string, etag: string): boolean {
  return ifNoneMatch.split(",").some((tag) => tag.trim() === "*" || bareEtag(tag.trim()) === etag);
}
