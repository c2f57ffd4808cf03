// The baseline for benchmarks: a Worker with no framework, middleware or logging.
// `/healthz` answers the same bytes as the real app's; `/r2/<key>` returns an R2 object as is;
// `PUT /r2-multipart/<key>` stores a body as an R2 multipart upload of 10 MiB parts, read with a
// BYOB reader into one reused buffer: the least JavaScript a multipart store can run.
const PART_SIZE = 10 * 1024 * 1024;

interface BareEnv {
  MEDIA: R2Bucket;
}

export default {
  async fetch(request: Request, env: BareEnv): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/healthz") {
      return new Response('{"ok":true}', { headers: { "content-type": "application/json" } });
    }
    if (url.pathname.startsWith("/r2-multipart/") && request.method === "PUT" && request.body) {
      const upload = await env.MEDIA.createMultipartUpload(decodeURIComponent(url.pathname.slice(14)));
      const reader = request.body.getReader({ mode: "byob" });
      const parts: R2UploadedPart[] = [];
      let part = new Uint8Array(PART_SIZE);
      let filled = 0;
      for (;;) {
        const { done, value } = await reader.read(new Uint8Array(part.buffer, filled, PART_SIZE - filled));
        if (value) part = new Uint8Array(value.buffer);
        if (!done && value) filled += value.byteLength;
        if (filled === PART_SIZE || (done && filled > 0)) {
          parts.push(await upload.uploadPart(parts.length + 1, part.subarray(0, filled)));
          filled = 0;
        }
        if (done) break;
      }
      const stored = await upload.complete(parts);
      return new Response(JSON.stringify({ size: stored.size }), { status: 201 });
    }
    if (url.pathname.startsWith("/r2/") && request.method === "PUT") {
      // The baseline for uploads: the request body streamed into one R2 object.
      const stored = await env.MEDIA.put(decodeURIComponent(url.pathname.slice(4)), request.body);
      return new Response(JSON.stringify({ size: stored?.size ?? 0 }), { status: 201 });
    }
    if (url.pathname.startsWith("/r2/")) {
      const object = await env.MEDIA.get(decodeURIComponent(url.pathname.slice(4)));
      if (!object) return new Response("not found", { status: 404 });
      return new Response(object.body, { headers: { "content-length": String(object.size) } });
    }
    return new Response("not found", { status: 404 });
  },
};
