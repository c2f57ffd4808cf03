// The baseline for benchmarks: a Worker with no framework, middleware or logging.
// `/healthz` answers the same bytes as the real app's; `/r2/<key>` returns an R2 object as is.
interface BareEnv {
  MEDIA: R2Bucket;
}

export default {
  async fetch(request: Request, env: BareEnv): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/healthz") {
      return new Response('{"ok":true}', { headers: { "content-type": "application/json" } });
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
