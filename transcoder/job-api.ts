/**
 * Client of the Worker's internal job API for one job: output files (PUT, from bytes or streamed
 * from a file; GET to read one back), events (POST), and the first bytes of the source. Every call carries the job's Bearer token; transient failures
 * (network errors, 408, 429, 5xx) are retried with exponential backoff.
 */
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { Readable } from "node:stream";
import { contentTypeOf, type JobEvent, OUTPUT_FILE_NAME, type TranscodeJob } from "../shared/protocol.ts";

const RETRYABLE_STATUS = new Set([408, 425, 429, 500, 502, 503, 504]);

export class JobApiError extends Error {
  /** HTTP status, or null when no answer arrived. */
  readonly status: number | null;
  readonly retryable: boolean;
  constructor(message: string, status: number | null, retryable: boolean) {
    super(message);
    this.name = "JobApiError";
    this.status = status;
    this.retryable = retryable;
  }
}

export interface RetryPolicy {
  /** Tries in all, the first included. */
  attempts: number;
  /** Wait before the first retry; doubles on each further one (with ±25% jitter). */
  baseDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, baseDelayMs: 500 };

/** How long one upload may take before it counts as failed (and is retried). */
const FILE_TIMEOUT_MS = 120_000;
/** The same for events and the source's first bytes. */
const REQUEST_TIMEOUT_MS = 30_000;

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });

/** Runs `attempt` until it succeeds, fails for good, or the tries run out. */
export async function withRetries<T>(
  attempt: () => Promise<T>,
  policy: RetryPolicy,
  signal?: AbortSignal,
  onRetry?: (error: unknown, attemptNumber: number) => void,
): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      const retryable = err instanceof JobApiError ? err.retryable : true;
      if (!retryable || n >= policy.attempts) throw err;
      onRetry?.(err, n);
      const delay = policy.baseDelayMs * 2 ** (n - 1);
      await sleep(delay * (0.75 + Math.random() * 0.5), signal);
    }
  }
}

/** Where the source is read from (GET with Range) and the token that opens it: for ffprobe and ffmpeg. */
export interface SourceRef {
  url: string;
  token: string;
}

export interface JobApiClient {
  readonly source: SourceRef;
  putFile(name: string, body: Uint8Array<ArrayBuffer>, signal?: AbortSignal): Promise<void>;
  /** Stores a file from disk as a stream (never read whole), however large. */
  putFileFrom(name: string, path: string, signal?: AbortSignal): Promise<void>;
  /** A file the job stored, as a stream; a 404 is a JobApiError with status 404. */
  openFile(name: string, signal?: AbortSignal): Promise<ReadableStream<Uint8Array>>;
  postEvent(event: JobEvent, options?: { signal?: AbortSignal; retry?: RetryPolicy }): Promise<void>;
  /** The first `length` bytes of the source (fewer if it is shorter). */
  readSourceHead(length: number, signal?: AbortSignal): Promise<Uint8Array>;
}

export interface JobApiOptions {
  fetch?: typeof fetch;
  retry?: RetryPolicy;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
}

/** A client for the internal job API at `apiBase`, opened by `token`; nothing else of the job is needed. */
export function createJobApiClient(
  job: Pick<TranscodeJob, "apiBase" | "token">,
  options: JobApiOptions = {},
): JobApiClient {
  const doFetch = options.fetch ?? fetch;
  const policy = options.retry ?? DEFAULT_RETRY;
  const authorization = `Bearer ${job.token}`;
  const source: SourceRef = { url: `${job.apiBase}/source`, token: job.token };

  const send = async (
    what: string,
    url: string,
    init: RequestInit,
    signal: AbortSignal | undefined,
    timeoutMs: number,
  ): Promise<Response> => {
    // A request that hangs must not hold the job forever (progress heartbeats would hide it).
    const timeout = AbortSignal.timeout(timeoutMs);
    let res: Response;
    try {
      res = await doFetch(url, { ...init, signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      const reason = timeout.aborted
        ? `no answer within ${timeoutMs / 1000} s`
        : err instanceof Error
          ? err.message
          : String(err);
      throw new JobApiError(`${what}: ${reason}`, null, true);
    }
    if (!res.ok) {
      await res.body?.cancel().catch(() => {});
      throw new JobApiError(`${what}: HTTP ${res.status}`, res.status, RETRYABLE_STATUS.has(res.status));
    }
    return res;
  };
  const onRetry = (what: string) => (error: unknown, n: number) =>
    options.log?.("retrying", { what, attempt: n, error: error instanceof Error ? error.message : String(error) });

  /** PUTs one output file; `body` makes a fresh body for each try, with its length. */
  const put = async (
    name: string,
    body: () => { body: BodyInit; length: number },
    timeoutMs: number,
    signal: AbortSignal | undefined,
  ) => {
    if (!OUTPUT_FILE_NAME.test(name)) throw new Error(`not an output file name: ${name}`);
    await withRetries(
      async () => {
        const attempt = body();
        const res = await send(
          `PUT ${name}`,
          `${job.apiBase}/files/${name}`,
          {
            method: "PUT",
            // The internal API requires the length up front, so it can stream the body into storage.
            headers: {
              authorization,
              "content-type": contentTypeOf(name),
              "content-length": String(attempt.length),
            },
            body: attempt.body,
            duplex: "half",
          } as RequestInit,
          signal,
          timeoutMs,
        );
        await res.body?.cancel().catch(() => {});
      },
      policy,
      signal,
      onRetry(`PUT ${name}`),
    );
  };

  return {
    source,

    async putFile(name, body, signal) {
      await put(name, () => ({ body, length: body.byteLength }), FILE_TIMEOUT_MS, signal);
    },

    async putFileFrom(name, path, signal) {
      const { size } = await stat(path);
      // A large file gets time in proportion to its size (at no less than 8 MiB/s).
      const timeoutMs = Math.max(FILE_TIMEOUT_MS, Math.ceil(size / (8 * 1024 * 1024)) * 1000);
      await put(
        name,
        () => ({ body: Readable.toWeb(createReadStream(path)) as ReadableStream<Uint8Array>, length: size }),
        timeoutMs,
        signal,
      );
    },

    async openFile(name, signal) {
      if (!OUTPUT_FILE_NAME.test(name)) throw new Error(`not an output file name: ${name}`);
      // The timeout covers reading the body too: files read back are segments, a few MiB each.
      const res = await withRetries(
        () =>
          send(`GET ${name}`, `${job.apiBase}/files/${name}`, { headers: { authorization } }, signal, FILE_TIMEOUT_MS),
        policy,
        signal,
        onRetry(`GET ${name}`),
      );
      if (!res.body) throw new JobApiError(`GET ${name}: no body`, res.status, false);
      return res.body;
    },

    async postEvent(event, opts = {}) {
      await withRetries(
        async () => {
          const res = await send(
            `event ${event.type}`,
            `${job.apiBase}/events`,
            {
              method: "POST",
              headers: { authorization, "content-type": "application/json" },
              body: JSON.stringify(event),
            },
            opts.signal,
            REQUEST_TIMEOUT_MS,
          );
          await res.body?.cancel().catch(() => {});
        },
        opts.retry ?? policy,
        opts.signal,
        onRetry(`event ${event.type}`),
      );
    },

    async readSourceHead(length, signal) {
      return withRetries(
        async () => {
          const res = await send(
            "GET source",
            source.url,
            { headers: { authorization, range: `bytes=0-${length - 1}` } },
            signal,
            REQUEST_TIMEOUT_MS,
          ).catch((err: unknown) => {
            // Not even the first byte is there: the source is empty.
            if (err instanceof JobApiError && err.status === 416) return null;
            throw err;
          });
          if (res === null) return new Uint8Array(0);
          // A server that ignores Range sends everything: read only what is needed.
          const reader = res.body?.getReader();
          const chunks: Uint8Array[] = [];
          let size = 0;
          while (reader && size < length) {
            const { done, value } = await reader.read();
            if (done) break;
            chunks.push(value);
            size += value.byteLength;
          }
          await reader?.cancel().catch(() => {});
          return Buffer.concat(chunks).subarray(0, length);
        },
        policy,
        signal,
        onRetry("GET source"),
      );
    },
  };
}
