/**
 * How a job reaches a transcoder: one interface, two implementations. Production runs each job
 * in its own Container instance; local development and tests POST it to TRANSCODER_URL.
 */
import { getContainer } from "@cloudflare/containers";
import type { TranscodeJob } from "../../shared/protocol";
import type { Settings } from "../app/settings";

/** Virtual host the container uses for the internal job API; answered by the Worker itself. */
export const INTERNAL_API_HOST = "streambuddy.internal";

export class DispatchError extends Error {
  /** Whether trying again later may succeed (busy, unreachable) or not (the job was refused). */
  readonly retryable: boolean;
  constructor(message: string, retryable: boolean) {
    super(message);
    this.name = "DispatchError";
    this.retryable = retryable;
  }
}

export interface TranscoderDispatcher {
  readonly kind: "http" | "container";
  /** The base URL under which the transcoder reaches the internal job API for this job. */
  apiBaseFor(jobId: string): string;
  /** Hands the job over; resolves once the transcoder accepted it (it does not wait for the encode). */
  dispatch(job: TranscodeJob): Promise<void>;
  /** Called on every job event: keeps the transcoder alive while it works. */
  heartbeat(jobId: string): Promise<void>;
  /** Called when the job has ended: frees the transcoder. */
  release(jobId: string): Promise<void>;
}

async function answerOf(res: Response, where: string): Promise<void> {
  if (res.status === 202 || res.status === 200) return;
  const text = (await res.text().catch(() => "")).slice(0, 300);
  const retryable = res.status >= 500 || res.status === 429;
  throw new DispatchError(`${where} answered ${res.status}: ${text}`, retryable);
}

export class HttpDispatcher implements TranscoderDispatcher {
  readonly kind = "http" as const;
  private readonly transcoderUrl: string;
  private readonly publicBaseUrl: string;
  private readonly doFetch: typeof fetch;

  // The global fetch is wrapped: called as a method of this object it would lose its `this`.
  constructor(
    transcoderUrl: string,
    publicBaseUrl: string,
    doFetch: typeof fetch = (input, init) => fetch(input, init),
  ) {
    this.transcoderUrl = transcoderUrl.replace(/\/+$/, "");
    this.publicBaseUrl = publicBaseUrl.replace(/\/+$/, "");
    this.doFetch = doFetch;
  }

  apiBaseFor(jobId: string) {
    return `${this.publicBaseUrl}/internal/jobs/${jobId}`;
  }

  async dispatch(job: TranscodeJob) {
    let res: Response;
    try {
      res = await this.doFetch(`${this.transcoderUrl}/jobs`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(job),
      });
    } catch (err) {
      throw new DispatchError(`The transcoder at ${this.transcoderUrl} is unreachable: ${String(err)}`, true);
    }
    await answerOf(res, `The transcoder at ${this.transcoderUrl}`);
  }

  async heartbeat() {}
  async release() {}
}

/** The slice of the Transcoder Durable Object this dispatcher uses. */
export interface TranscoderStub {
  fetch(request: Request): Promise<Response>;
  keepAlive(): Promise<void>;
  finish(): Promise<void>;
}

export class ContainerDispatcher implements TranscoderDispatcher {
  readonly kind = "container" as const;
  private readonly stubFor: (jobId: string) => TranscoderStub;

  constructor(stubFor: (jobId: string) => TranscoderStub) {
    this.stubFor = stubFor;
  }

  apiBaseFor(jobId: string) {
    return `http://${INTERNAL_API_HOST}/internal/jobs/${jobId}`;
  }

  async dispatch(job: TranscodeJob) {
    let res: Response;
    try {
      // One instance per job: the container's disk and CPU belong to this encode alone.
      res = await this.stubFor(job.jobId).fetch(
        new Request("http://transcoder/jobs", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(job),
        }),
      );
    } catch (err) {
      throw new DispatchError(`The transcoder container could not start: ${String(err)}`, true);
    }
    await answerOf(res, "The transcoder container");
  }

  async heartbeat(jobId: string) {
    await this.stubFor(jobId).keepAlive();
  }

  async release(jobId: string) {
    await this.stubFor(jobId).finish();
  }
}

/** TRANSCODER_URL set: HTTP (local, tests). Empty: one Container instance per job (production). */
export function createDispatcher(env: Env, settings: Settings): TranscoderDispatcher {
  if (settings.transcoderUrl) {
    return new HttpDispatcher(settings.transcoderUrl, settings.publicBaseUrl || "http://127.0.0.1:8787");
  }
  return new ContainerDispatcher((jobId) => getContainer(env.TRANSCODER, jobId) as unknown as TranscoderStub);
}
