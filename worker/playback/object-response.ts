/**
 * Serves an R2 object as an HTTP answer, streamed: single byte ranges (206; an unsatisfiable one
 * throws the 416 `ApiError`), strong ETags with If-None-Match (304), HEAD, and whatever caching
 * headers the caller sets.
 */
import { ApiError } from "../app/errors";
import { parseRange } from "./range";

export interface ServeOptions {
  contentType?: string;
  cacheControl?: string;
  headers?: Record<string, string>;
}

export async function serveR2Object(
  bucket: R2Bucket,
  key: string,
  request: Request,
  options: ServeOptions = {},
): Promise<Response | null> {
  const head = await bucket.head(key);
  if (!head) return null;
  const headers = new Headers(options.headers);
  headers.set("accept-ranges", "bytes");
  headers.set("etag", head.httpEtag);
  headers.set("content-type", options.contentType ?? head.httpMetadata?.contentType ?? "application/octet-stream");
  if (options.cacheControl) headers.set("cache-control", options.cacheControl);

  const ifNoneMatch = request.headers.get("if-none-match");
  const tags = ifNoneMatch?.split(",").map((t) => t.trim()) ?? [];
  if (tags.includes(head.httpEtag) || tags.includes("*")) {
    return new Response(null, { status: 304, headers });
  }
  const range = parseRange(request.headers.get("range"), head.size);
  if (range.kind === "unsatisfiable") {
    // In the error envelope like every other refusal, with the size a client needs to retry.
    const message = `No byte of the requested range lies within this ${head.size}-byte file`;
    throw new ApiError("range_not_satisfiable", message, { headers: { "Content-Range": `bytes */${head.size}` } });
  }
  const isHead = request.method === "HEAD";
  if (range.kind === "range") {
    headers.set("content-range", `bytes ${range.offset}-${range.offset + range.length - 1}/${head.size}`);
    headers.set("content-length", String(range.length));
    if (isHead) return new Response(null, { status: 206, headers });
    const object = await bucket.get(key, { range: { offset: range.offset, length: range.length } });
    return object ? new Response(object.body, { status: 206, headers }) : null;
  }
  headers.set("content-length", String(head.size));
  if (isHead) return new Response(null, { status: 200, headers });
  const object = await bucket.get(key);
  return object ? new Response(object.body, { status: 200, headers }) : null;
}
