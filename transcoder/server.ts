/**
 * The transcoder's HTTP API: `GET /healthz`, `POST /jobs` (202), `GET /jobs/{id}`.
 * Jobs run in the background; the runner reports to the Worker itself, so the caller never waits.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { type RunnerJobState, type TranscodeJob, TranscodeJobSchema } from "../shared/protocol.ts";

/** Runs one job to its end; resolves with the final state. Must stop promptly when `signal` aborts. */
export type JobRunner = (
  job: TranscodeJob,
  signal: AbortSignal,
  onStatus: (update: Partial<Omit<RunnerJobState, "jobId">>) => void,
) => Promise<void>;

export interface TranscoderServerOptions {
  runJob: JobRunner;
  /** Jobs allowed to run at once; more are refused with 503 so the caller retries later. */
  maxConcurrentJobs?: number;
  /** Largest accepted request body (a job description is small). */
  maxBodyBytes?: number;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
}

export interface TranscoderServer {
  server: Server;
  jobs: Map<string, RunnerJobState>;
  /** Aborts running jobs, waits for their runners to finish reporting, closes the server. */
  shutdown(): Promise<void>;
}

const json = (res: ServerResponse, status: number, body: unknown) => {
  const data = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(data) });
  res.end(data);
};

const error = (res: ServerResponse, status: number, code: string, message: string, details?: unknown) =>
  json(res, status, { error: { code, message, ...(details === undefined ? {} : { details }) } });

async function readBody(req: IncomingMessage, limit: number): Promise<string | null> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) return null;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

export function createTranscoderServer(options: TranscoderServerOptions): TranscoderServer {
  const maxConcurrent = options.maxConcurrentJobs ?? 1;
  const maxBody = options.maxBodyBytes ?? 64 * 1024;
  const log =
    options.log ?? ((msg, fields) => console.log(JSON.stringify({ ts: new Date().toISOString(), msg, ...fields })));
  const jobs = new Map<string, RunnerJobState>();
  const running = new Map<string, { controller: AbortController; done: Promise<void> }>();
  let closing = false;
  let accepted = 0;

  const start = (job: TranscodeJob) => {
    const status: RunnerJobState = { jobId: job.jobId, state: "accepted", progress: 0, error: null };
    jobs.set(job.jobId, status);
    accepted++;
    const controller = new AbortController();
    const done = options
      .runJob(job, controller.signal, (update) => Object.assign(status, update))
      .catch((err: unknown) => {
        log("job runner crashed", { jobId: job.jobId, error: String(err) });
        Object.assign(status, {
          state: "failed",
          error: { code: "transcode_failed", message: "The transcoder stopped unexpectedly" },
        });
      })
      .finally(() => running.delete(job.jobId));
    running.set(job.jobId, { controller, done });
    return status;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://transcoder");
    const path = url.pathname.replace(/\/+$/, "") || "/";
    if (path === "/healthz") {
      if (req.method !== "GET" && req.method !== "HEAD") return error(res, 405, "method_not_allowed", "Use GET");
      // `accepted` counts jobs started since this process began: a duplicate dispatch never adds one.
      return json(res, closing ? 503 : 200, { ok: !closing, running: running.size, accepted, pid: process.pid });
    }
    if (path === "/jobs") {
      if (req.method !== "POST") return error(res, 405, "method_not_allowed", "Use POST");
      if (closing) return error(res, 503, "service_unavailable", "The transcoder is shutting down");
      const body = await readBody(req, maxBody);
      if (body === null) return error(res, 413, "payload_too_large", `A job description is at most ${maxBody} bytes`);
      let parsed: unknown;
      try {
        parsed = JSON.parse(body);
      } catch {
        return error(res, 400, "invalid_json", "The request body is not valid JSON");
      }
      const result = TranscodeJobSchema.safeParse(parsed);
      if (!result.success) {
        return error(res, 400, "validation_error", "The job description is not valid", result.error.issues);
      }
      const job = result.data;
      const existing = jobs.get(job.jobId);
      // The same job sent twice (a retried dispatch) is answered with its state, never run twice.
      if (existing && (running.has(job.jobId) || existing.state === "completed")) return json(res, 202, existing);
      if (running.size >= maxConcurrent) {
        return error(res, 503, "service_unavailable", "The transcoder is busy; try again later");
      }
      log("job accepted", { jobId: job.jobId, videoId: job.videoId });
      return json(res, 202, start(job));
    }
    const match = /^\/jobs\/([^/]+)$/.exec(path);
    if (match) {
      if (req.method !== "GET") return error(res, 405, "method_not_allowed", "Use GET");
      const status = jobs.get(decodeURIComponent(match[1] ?? ""));
      return status ? json(res, 200, status) : error(res, 404, "not_found", "No such job");
    }
    return error(res, 404, "not_found", `No route matches ${req.method} ${path}`);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      log("request failed", { error: String(err) });
      if (!res.headersSent) error(res, 500, "internal_error", "Something went wrong");
      else res.destroy();
    });
  });

  const shutdown = async () => {
    closing = true;
    for (const { controller } of running.values()) controller.abort();
    await Promise.allSettled([...running.values()].map((r) => r.done));
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  };

  return { server, jobs, shutdown };
}
