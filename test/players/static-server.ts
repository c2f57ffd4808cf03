/**
 * A small loopback HTTP server for player tests: files from a directory (with Range, as the
 * Worker serves them), the deployment's vendored player scripts under /vendor/, the web app
 * under /app/, and routes answered by the test itself.
 */
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { extname, join, normalize } from "node:path";

const root = join(import.meta.dirname, "..", "..");

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript",
  ".mjs": "text/javascript",
  ".css": "text/css",
  ".mpd": "application/dash+xml",
  ".m3u8": "application/vnd.apple.mpegurl",
  ".m4s": "video/iso.segment",
  ".mp4": "video/mp4",
  ".m4a": "audio/mp4",
  ".vtt": "text/vtt; charset=utf-8",
  ".jpg": "image/jpeg",
  ".svg": "image/svg+xml",
};

export interface Route {
  body: string | Buffer;
  type: string;
  headers?: Record<string, string>;
}

export interface StaticServer {
  url: string;
  /** Paths requested so far, in order. */
  requests: string[];
  /** Answers a path (exact match) with a body instead of a file. */
  route(path: string, route: Route | ((req: IncomingMessage) => Route)): void;
  close(): Promise<void>;
}

async function sendFile(req: IncomingMessage, res: ServerResponse, path: string) {
  const info = await stat(path).catch(() => null);
  if (!info?.isFile()) {
    res.writeHead(404).end();
    return;
  }
  const headers: Record<string, string> = {
    "content-type": TYPES[extname(path)] ?? "application/octet-stream",
    "accept-ranges": "bytes",
  };
  let start = 0;
  let end = info.size - 1;
  const range = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? "");
  if (range && (range[1] !== "" || range[2] !== "")) {
    if (range[1] === "") start = Math.max(0, info.size - Number(range[2]));
    else {
      start = Number(range[1]);
      if (range[2] !== "") end = Math.min(end, Number(range[2]));
    }
    if (start > end) {
      res.writeHead(416, { "content-range": `bytes */${info.size}` }).end();
      return;
    }
    headers["content-range"] = `bytes ${start}-${end}/${info.size}`;
  }
  headers["content-length"] = String(end - start + 1);
  res.writeHead(headers["content-range"] ? 206 : 200, headers);
  if (req.method === "HEAD") return void res.end();
  createReadStream(path, { start, end }).pipe(res);
}

/** Serves `dir` at `/`; `/vendor/…` and `/app/…` come from the repository's public/ folder. */
export async function startStaticServer(dir: string): Promise<StaticServer> {
  const routes = new Map<string, Route | ((req: IncomingMessage) => Route)>();
  const requests: string[] = [];
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://local").pathname);
    requests.push(path);
    const routed = routes.get(path);
    if (routed) {
      const r = typeof routed === "function" ? routed(req) : routed;
      res.writeHead(200, { "content-type": r.type, ...r.headers });
      return void res.end(r.body);
    }
    const safe = normalize(path).replace(/^(\.\.[/\\])+/, "");
    const base = safe.startsWith("/vendor/") || safe.startsWith("/app/") ? join(root, "public") : dir;
    sendFile(req, res, join(base, safe)).catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    route: (path, route) => void routes.set(path, route),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
