/**
 * Text the Worker writes itself (a manifest rewritten with its caption tracks, a playlist, an
 * index), served with an ETag of its own: 304 when the client has it, no body to HEAD.
 */
/** Whether `If-None-Match` names `etag` (weak comparison, as for GET and HEAD). */
export function etagMatches(request: Request, etag: string): boolean {
  const header = request.headers.get("if-none-match");
  if (!header) return false;
  const bare = (tag: string) => tag.trim().replace(/^W\//, "");
  return header.split(",").some((tag) => tag.trim() === "*" || bare(tag) === bare(etag));
}

/**
 * A strong ETag of text the Worker wrote: a digest of the text itself, so it changes with whatever
 * went into it (for a manifest: the stored file, the version, the captions) and with nothing else.
 */
export async function textEtag(body: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(body)));
  return `"t-${[...digest.slice(0, 16)].map((b) => b.toString(16).padStart(2, "0")).join("")}"`;
}

/**
 * Serves text the Worker wrote (a rewritten manifest, a playlist, an index) with its
 * {@link textEtag}, answering 304 when the client has it and no body to HEAD.
 */
export async function serveText(
  request: Request,
  body: string,
  options: { contentType: string; cacheControl: string },
): Promise<Response> {
  const etag = await textEtag(body);
  const headers = new Headers({ "content-type": options.contentType, "cache-control": options.cacheControl, etag });
  if (etagMatches(request, etag)) return new Response(null, { status: 304, headers });
  headers.set("content-length", String(new TextEncoder().encode(body).byteLength));
  return new Response(request.method === "HEAD" ? null : body, { headers });
}
