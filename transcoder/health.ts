/**
 * The runner's only HTTP surface: `GET /healthz`, what it is working on. Work never comes in
 * here (the runner claims it), so the port can stay private; a container platform and `npm start`
 * use it to see that the runner is up.
 */
import { createServer, type ServerResponse } from "node:http";
import type { RunnerStatus } from "./runner.ts";

const json = (res: ServerResponse, status: number, body: unknown, head = false) => {
  const data = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(data) });
  res.end(head ? undefined : data);
};

const error = (res: ServerResponse, status: number, code: string, message: string) =>
  json(res, status, { error: { code, message } });

/**
 * 200 `{ok: true, pid, ...status}` while the runner works or waits for work; 503 with `ok: false`
 * once it is stopping or its token was refused.
 */
export function createHealthServer(status: () => RunnerStatus) {
  return createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://runner").pathname.replace(/\/+$/, "") || "/";
    if (path !== "/healthz") return error(res, 404, "not_found", `No route matches ${req.method} ${path}`);
    if (req.method !== "GET" && req.method !== "HEAD") return error(res, 405, "method_not_allowed", "Use GET");
    const now = status();
    const ok = !["stopping", "stopped", "refused"].includes(now.state);
    json(res, ok ? 200 : 503, { ok, pid: process.pid, ...now }, req.method === "HEAD");
  });
}
