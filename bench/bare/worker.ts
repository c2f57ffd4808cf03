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
    if (url.pathname.startsWith("/r2/")) {
      const object = await env.MEDIA.get(decodeURIComponent(url.pathname.slice(4)));
      if (!object) return new Response("not found", { status: 404 });
      return new Response(object.body, { headers: { "content-length": String(object.size) } });
    }
    return new Response("not found", { status: 404 });
  },
};
