import { describe, expect, it } from "vitest";
import type { TranscodeJob } from "../../shared/protocol";
import {
  ContainerDispatcher,
  DispatchError,
  HttpDispatcher,
  INTERNAL_API_HOST,
  type TranscoderStub,
} from "./dispatcher";

const job: TranscodeJob = {
  jobId: "job-1",
  videoId: "vid-1",
  version: "v1",
  apiBase: "http://x/internal/jobs/job-1",
  token: "t".repeat(32),
  maxHeight: 1080,
  maxDurationSeconds: 3600,
};

describe("HttpDispatcher", () => {
  it("POSTs the job to the transcoder's /jobs and points it at the public base URL", async () => {
    const seen: Request[] = [];
    const d = new HttpDispatcher("http://transcoder:8788/", "https://api.example.com/", async (input, init) => {
      seen.push(new Request(input, init));
      return new Response("{}", { status: 202 });
    });
    await d.dispatch(job);
    expect(seen[0]?.url).toBe("http://transcoder:8788/jobs");
    expect(await seen[0]?.json()).toEqual(job);
    expect(d.apiBaseFor("job-9")).toBe("https://api.example.com/internal/jobs/job-9");
  });

  it.each([
    [503, true],
    [429, true],
    [400, false],
  ])("maps a %i answer to a %s-retryable DispatchError", async (status, retryable) => {
    const d = new HttpDispatcher("http://t", "http://a", async () => new Response("no", { status }));
    const err = await d.dispatch(job).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DispatchError);
    expect((err as DispatchError).retryable).toBe(retryable);
  });

  it("reaches the network with the runtime's own fetch (no lost `this`)", async () => {
    const d = new HttpDispatcher("http://127.0.0.1:9", "http://a");
    const err = (await d.dispatch(job).catch((e: unknown) => e)) as DispatchError;
    expect(err.retryable).toBe(true);
    expect(err.message).toMatch(/unreachable/);
    expect(err.message).not.toMatch(/Illegal invocation/);
  });

  it("treats an unreachable transcoder as retryable", async () => {
    const d = new HttpDispatcher("http://t", "http://a", async () => {
      throw new TypeError("connection refused");
    });
    await expect(d.dispatch(job)).rejects.toMatchObject({ retryable: true });
  });
});

describe("ContainerDispatcher", () => {
  function stubs() {
    const calls: string[] = [];
    const byJob = new Map<string, TranscoderStub>();
    const stubFor = (id: string) => {
      let stub = byJob.get(id);
      if (!stub) {
        stub = {
          fetch: async (req) => {
            calls.push(`${id} fetch ${req.method} ${new URL(req.url).pathname}`);
            return new Response("{}", { status: 202 });
          },
          keepAlive: async () => void calls.push(`${id} keepAlive`),
          finish: async () => void calls.push(`${id} finish`),
        };
        byJob.set(id, stub);
      }
      return stub;
    };
    return { calls, stubFor };
  }

  it("runs each job in its own instance, keeps it alive on events, and stops it at the end", async () => {
    const { calls, stubFor } = stubs();
    const d = new ContainerDispatcher(stubFor);
    await d.dispatch(job);
    await d.heartbeat("job-1");
    await d.release("job-1");
    expect(calls).toEqual(["job-1 fetch POST /jobs", "job-1 keepAlive", "job-1 finish"]);
  });

  it("gives the container the internal virtual host, never a public URL", () => {
    const d = new ContainerDispatcher(stubs().stubFor);
    expect(d.apiBaseFor("job-2")).toBe(`http://${INTERNAL_API_HOST}/internal/jobs/job-2`);
  });
});
