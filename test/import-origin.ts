/**
 * A real HTTP origin for import tests: the server a user's URL points at, listening on 127.0.0.1,
 * with the misbehaviours real origins have. Worker tests reach it through the global setup
 * (`inject("importOrigin")`), end-to-end tests start their own.
 *
 * `GET /video.mp4` is `test/fixtures/tiny.mp4` (or, with `size=N`, its bytes repeated to N: byte
 * i is `tiny[i % tiny.length]`), as `video/mp4` with `Content-Length`, `Accept-Ranges: bytes`, a
 * strong `ETag`, and single `Range: bytes=N-` / `bytes=N-M` answers (206, honouring `If-Range`).
 * `GET /files/<name>` serves a file handed to {@link startImportOrigin} the same way. Query
 * parameters change the answer:
 * - `key=K` names the request's series: its requests are recorded (`GET /requests?key=K`), and
 *   `cut` / `hold` apply to the series' first request only;
 * - `cut=N`: the connection is destroyed once N bytes of the body (counted from byte 0 of the
 *   file) are written;
 * - `hold=N`: N bytes are written, then nothing until `POST /release?key=K`;
 * - `ranges=no`: no `Accept-Ranges`, and `Range` is ignored (200, the whole file);
 * - `shift=N`: a ranged answer starts N bytes later than asked, and says so in `Content-Range`;
 * - `chunked=1`: no `Content-Length` (chunked transfer coding);
 * - `declare=N`: `Content-Length: N` whatever the body (for lengths nobody should fetch);
 * - `type=T`: `Content-Type: T`.
 * Besides: `GET /page.html` (an HTML page), `GET /redirect?to=<url>` (302 to it; `status=` picks
 * another 3xx), `GET /loop?n=<hops>` (redirects forever), `GET /status/<code>`.
 */
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";

export interface ImportOrigin {
  /** `http://127.0.0.1:<port>` */
  url: string;
  port: number;
  close(): Promise<void>;
}

export interface RecordedRequest {
  path: string;
  range: string | null;
  ifRange: string | null;
  acceptEncoding: string | null;
  userAgent: string | null;
}

const TINY_MP4 = readFileSync(join(import.meta.dirname, "fixtures", "tiny.mp4"));
const ETAG = '"tiny-v1"';
const LAST_MODIFIED = "Mon, 04 May 2026 10:00:00 GMT";
const WRITE_CHUNK = 64 * 1024;

/** Byte `i` of `/video.mp4?size=N`, for tests that check what was stored without the origin. */
export const originByte = (i: number) => TINY_MP4[i % TINY_MP4.length] as number;

function repeated(size: number): Buffer {
  const out = Buffer.alloc(size);
  for (let at = 0; at < size; at += TINY_MP4.length) TINY_MP4.copy(out, at, 0, Math.min(TINY_MP4.length, size - at));
  return out;
}

export async function startImportOrigin(options: { files?: Record<string, string> } = {}): Promise<ImportOrigin> {
  const requests = new Map<string, RecordedRequest[]>();
  const releases = new Map<string, () => void>();
  const bodies = new Map<number, Buffer>();
  const bodyOf = (size: number) => {
    let body = bodies.get(size);
    if (!body) {
      body = repeated(size);
      bodies.set(size, body);
    }
    return body;
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://origin");
    const q = url.searchParams;
    if (url.pathname === "/requests") {
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify(requests.get(q.get("key") ?? "") ?? []));
      return;
    }
    if (url.pathname === "/release") {
      releases.get(q.get("key") ?? "")?.();
      res.end("released");
      return;
    }
    const key = q.get("key");
    let first = true;
    if (key) {
      const seen = requests.get(key) ?? [];
      first = seen.length === 0;
      seen.push({
        path: url.pathname,
        range: req.headers.range ?? null,
        ifRange: (req.headers["if-range"] as string | undefined) ?? null,
        acceptEncoding: (req.headers["accept-encoding"] as string | undefined) ?? null,
        userAgent: req.headers["user-agent"] ?? null,
      });
      requests.set(key, seen);
    }
    if (url.pathname === "/page.html") {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8", "accept-ranges": "bytes" });
      res.end(
        `<!doctype html><html><head><title>Not a video</title></head><body>${"<p>words</p>".repeat(200)}</body></html>`,
      );
      return;
    }
    if (url.pathname === "/redirect") {
      res.writeHead(Number(q.get("status") ?? 302), { location: q.get("to") ?? "/" });
      res.end();
      return;
    }
    if (url.pathname === "/loop") {
      const n = Number(q.get("n") ?? 0);
      res.writeHead(302, { location: `/loop?n=${n + 1}` });
      res.end();
      return;
    }
    const status = /^\/status\/(\d{3})$/.exec(url.pathname);
    if (status) {
      res.writeHead(Number(status[1]), { "content-type": "text/plain" });
      res.end("as asked");
      return;
    }
    let body: Buffer | undefined;
    if (url.pathname === "/video.mp4") body = bodyOf(Number(q.get("size") ?? TINY_MP4.length));
    const file = url.pathname.startsWith("/files/") ? options.files?.[url.pathname.slice(7)] : undefined;
    if (file) body = readFileSync(file);
    if (!body) {
      res.writeHead(404, { "content-type": "text/plain" });
      res.end("no such file");
      return;
    }
    serveBody(req, res, body, q, first, key ? (release) => releases.set(key, release) : undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    async close() {
      for (const release of releases.values()) release();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function serveBody(
  req: IncomingMessage,
  res: ServerResponse,
  body: Buffer,
  q: URLSearchParams,
  first: boolean,
  onHold: ((release: () => void) => void) | undefined,
) {
  const ranges = q.get("ranges") !== "no";
  const headers: Record<string, string> = {
    "content-type": q.get("type") ?? "video/mp4",
    etag: ETAG,
    "last-modified": LAST_MODIFIED,
  };
  if (ranges) headers["accept-ranges"] = "bytes";
  let start = 0;
  let end = body.length - 1;
  let status = 200;
  const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? "");
  const ifRange = req.headers["if-range"];
  if (ranges && range && (!ifRange || ifRange === ETAG || ifRange === LAST_MODIFIED)) {
    start = Number(range[1]) + Number(q.get("shift") ?? 0);
    end = range[2] ? Math.min(Number(range[2]), end) : end;
    if (start > end) {
      res.writeHead(416, { "content-range": `bytes */${body.length}` });
      res.end();
      return;
    }
    status = 206;
    headers["content-range"] = `bytes ${start}-${end}/${body.length}`;
  }
  if (q.get("declare")) headers["content-length"] = q.get("declare") as string;
  else if (q.get("chunked") !== "1") headers["content-length"] = String(end - start + 1);
  res.writeHead(status, headers);
  if (req.method === "HEAD") {
    res.end();
    return;
  }
  const cut = first && q.get("cut") ? Number(q.get("cut")) : Number.POSITIVE_INFINITY;
  const hold = first && q.get("hold") && onHold ? Number(q.get("hold")) : Number.POSITIVE_INFINITY;
  let at = start;
  let held = false;
  const pump = () => {
    while (at <= end) {
      if (at >= cut) {
        res.socket?.destroy();
        return;
      }
      if (at >= hold && !held) {
        held = true;
        onHold?.(pump);
        return;
      }
      const stop = Math.min(end + 1, at + WRITE_CHUNK, cut, held ? end + 1 : hold);
      const more = res.write(body.subarray(at, stop));
      at = stop;
      if (!more) {
        res.once("drain", pump);
        return;
      }
    }
    res.end();
  };
  res.on("close", () => {
    at = end + 1;
  });
  pump();
}
