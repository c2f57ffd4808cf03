/**
 * A stand-in for the Worker's internal job API, so the transcoder can be tested (and benchmarked)
 * on its own: serves one source file at `<basePath>/source` with Range support, stores PUT files
 * (and serves them back),
 * records events, and checks the Bearer token, file names and event schema like the real API
 * does. `basePath` is `/internal/jobs/<jobId>` unless a unit's `/internal/units/<unitId>` is given.
 */
import { createReadStream } from "node:fs";
import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type JobEvent, JobEventSchema, OUTPUT_FILE_NAME, type TranscodeJob } from "../../shared/protocol.ts";

export interface FakeJobApiOptions {
  /** Path of the file served as the source. */
  source: string;
  jobId?: string;
  /** Where the API sits on the server (default `/internal/jobs/<jobId>`). */
  basePath?: string;
  token?: string;
  /** Keep PUT bodies in a directory (default) or only count their bytes. */
  keepFiles?: boolean;
  /** Answers a PUT with this status instead of storing it (e.g. 503 once, to exercise retries). */
  failPut?: (name: string, attempt: number) => number | null;
  /** Called when a file has been stored. */
  onPut?: (name: string, size: number) => void;
  onEvent?: (event: JobEvent) => void;
  /** Answers an event with this status instead of taking it (e.g. 410: the attempt is over). */
  refuseEvent?: (event: JobEvent) => number | null;
}

export interface FakeJobApi {
  url: string;
  /** Directory holding the stored files (when `keepFiles`). */
  filesDir: string;
  /** Stored files: name → size, in the order they were stored. */
  files: Map<string, number>;
  /** PUT requests per name, including refused ones. */
  putAttempts: Map<string, number>;
  /** Names refused because they did not match OUTPUT_FILE_NAME. */
  rejectedNames: string[];
  events: JobEvent[];
  /** Events answered by `refuseEvent`'s status instead of taken. */
  refusedEvents: JobEvent[];
  /** Events that did not match the protocol schema. */
  invalidEvents: unknown[];
  /** Source requests, with their Range header. */
  sourceRequests: (string | null)[];
  /** Stored files read back (GET files/{name}), in order. */
  fileReads: string[];
  job(overrides?: Partial<TranscodeJob>): TranscodeJob;
  close(): Promise<void>;
}

const send = (res: ServerResponse, status: number, body?: unknown) => {
  const data = body === undefined ? "" : JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(data) });
  res.end(data);
};

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function startFakeJobApi(options: FakeJobApiOptions): Promise<FakeJobApi> {
  const jobId = options.jobId ?? "job-1";
  const token = options.token ?? "test-token-0123456789abcdef";
  const keepFiles = options.keepFiles ?? true;
  const filesDir = await mkdtemp(join(tmpdir(), "streambuddy-fake-api-"));
  const sourceSize = (await stat(options.source)).size;
  const files = new Map<string, number>();
  const putAttempts = new Map<string, number>();
  const rejectedNames: string[] = [];
  const events: JobEvent[] = [];
  const refusedEvents: JobEvent[] = [];
  const invalidEvents: unknown[] = [];
  const sourceRequests: (string | null)[] = [];
  const fileReads: string[] = [];
  const prefix = `${options.basePath ?? `/internal/jobs/${jobId}`}/`;

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? "/", "http://fake").pathname;
    if (!path.startsWith(prefix)) return send(res, 404, { error: { code: "not_found" } });
    if (req.headers.authorization !== `Bearer ${token}`) return send(res, 401, { error: { code: "unauthorized" } });
    const rest = path.slice(prefix.length);

    if (rest === "source" && (req.method === "GET" || req.method === "HEAD")) {
      const range = req.headers.range ?? null;
      sourceRequests.push(range);
      let start = 0;
      let end = sourceSize - 1;
      let status = 200;
      if (range) {
        const m = /^bytes=(\d*)-(\d*)$/.exec(range);
        if (!m || (m[1] === "" && m[2] === "")) return send(res, 416);
        if (m[1] === "") {
          start = Math.max(0, sourceSize - Number(m[2]));
        } else {
          start = Number(m[1]);
          if (m[2] !== "") end = Math.min(end, Number(m[2]));
        }
        if (start >= sourceSize || start > end) {
          res.writeHead(416, { "content-range": `bytes */${sourceSize}` });
          return res.end();
        }
        status = 206;
      }
      const headers: Record<string, string> = {
        "accept-ranges": "bytes",
        "content-type": "application/octet-stream",
        "content-length": String(end - start + 1),
      };
      if (status === 206) headers["content-range"] = `bytes ${start}-${end}/${sourceSize}`;
      res.writeHead(status, headers);
      if (req.method === "HEAD") return res.end();
      const stream = createReadStream(options.source, { start, end });
      stream.pipe(res);
      res.on("close", () => stream.destroy());
      return;
    }

    if (rest.startsWith("files/") && req.method === "GET") {
      const name = decodeURIComponent(rest.slice("files/".length));
      if (!OUTPUT_FILE_NAME.test(name)) return send(res, 400, { error: { code: "bad_request" } });
      if (!keepFiles || !files.has(name)) return send(res, 404, { error: { code: "not_found" } });
      fileReads.push(name);
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(files.get(name)) });
      const stream = createReadStream(join(filesDir, name));
      stream.pipe(res);
      res.on("close", () => stream.destroy());
      return;
    }

    if (rest.startsWith("files/") && req.method === "PUT") {
      const name = decodeURIComponent(rest.slice("files/".length));
      const attempt = (putAttempts.get(name) ?? 0) + 1;
      putAttempts.set(name, attempt);
      if (!OUTPUT_FILE_NAME.test(name)) {
        rejectedNames.push(name);
        await readBody(req);
        return send(res, 400, { error: { code: "bad_request" } });
      }
      if (req.headers["content-length"] === undefined) {
        await readBody(req);
        return send(res, 411, { error: { code: "length_required" } });
      }
      const refusal = options.failPut?.(name, attempt) ?? null;
      const body = await readBody(req);
      if (refusal !== null) return send(res, refusal, { error: { code: "refused" } });
      if (keepFiles) await writeFile(join(filesDir, name), body);
      files.set(name, body.byteLength);
      options.onPut?.(name, body.byteLength);
      return send(res, 201, { name, size: body.byteLength });
    }

    if (rest === "events" && req.method === "POST") {
      let raw: unknown;
      try {
        raw = JSON.parse((await readBody(req)).toString("utf8"));
      } catch {
        return send(res, 400, { error: { code: "invalid_json" } });
      }
      const parsed = JobEventSchema.safeParse(raw);
      if (!parsed.success) {
        invalidEvents.push(raw);
        return send(res, 400, { error: { code: "validation_error" } });
      }
      const refusal = options.refuseEvent?.(parsed.data) ?? null;
      if (refusal !== null) {
        refusedEvents.push(parsed.data);
        return send(res, refusal, { error: { code: "refused" } });
      }
      events.push(parsed.data);
      options.onEvent?.(parsed.data);
      return send(res, 200, { ok: true });
    }

    return send(res, 404, { error: { code: "not_found" } });
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) send(res, 500);
      else res.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;

  return {
    url,
    filesDir,
    files,
    putAttempts,
    rejectedNames,
    events,
    refusedEvents,
    invalidEvents,
    sourceRequests,
    fileReads,
    job: (overrides = {}) => ({
      jobId,
      videoId: "video-1",
      version: "v1",
      apiBase: `${url}${prefix.slice(0, -1)}`,
      token,
      maxHeight: 1080,
      maxDurationSeconds: 3600,
      ...overrides,
    }),
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await rm(filesDir, { recursive: true, force: true });
    },
  };
}
