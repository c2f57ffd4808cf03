import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { TranscodeJob } from "../shared/protocol.ts";
import { createJobApiClient, JobApiError } from "./job-api.ts";

const job: TranscodeJob = {
  jobId: "job-1",
  videoId: "video-1",
  version: "v1",
  apiBase: "http://api.test/internal/jobs/job-1",
  token: "token-0123456789abcdef",
  maxHeight: 1080,
  maxDurationSeconds: 3600,
};

/** A fetch that answers with the given statuses in turn, recording each request. */
function scriptedFetch(statuses: (number | "network")[]) {
  const calls: { url: string; init: RequestInit }[] = [];
  const doFetch = (async (url: string | URL | Request, init?: RequestInit) => {
    calls.push({ url: String(url), init: init ?? {} });
    const next = statuses.shift() ?? 200;
    if (next === "network") throw new TypeError("fetch failed");
    return new Response(next === 200 ? "{}" : "no", { status: next });
  }) as typeof fetch;
  return { doFetch, calls };
}

const fast = { attempts: 4, baseDelayMs: 1 };

describe("internal job API client", () => {
  it("PUTs a file with the Bearer token and a content type", async () => {
    const { doFetch, calls } = scriptedFetch([201]);
    await createJobApiClient(job, { fetch: doFetch, retry: fast }).putFile("manifest.mpd", Buffer.from("<MPD/>"));
    expect(calls).toHaveLength(1);
    expect(calls[0]?.url).toBe("http://api.test/internal/jobs/job-1/files/manifest.mpd");
    expect(calls[0]?.init.method).toBe("PUT");
    expect(calls[0]?.init.headers).toMatchObject({
      authorization: "Bearer token-0123456789abcdef",
      "content-type": "application/dash+xml",
    });
  });

  it("retries network errors, 429 and 5xx, then succeeds", async () => {
    const { doFetch, calls } = scriptedFetch(["network", 503, 429, 200]);
    await createJobApiClient(job, { fetch: doFetch, retry: fast }).postEvent({ type: "progress", progress: 5 });
    expect(calls).toHaveLength(4);
  });

  it("gives up after the last attempt with the last error", async () => {
    const { doFetch, calls } = scriptedFetch([500, 502, 503, 504, 200]);
    const put = createJobApiClient(job, { fetch: doFetch, retry: fast }).putFile("poster.jpg", Buffer.from("x"));
    await expect(put).rejects.toMatchObject({ status: 504 });
    expect(calls).toHaveLength(4);
  });

  it("does not retry a refusal that cannot change (401, 403, 410)", async () => {
    for (const status of [401, 403, 410]) {
      const { doFetch, calls } = scriptedFetch([status, 200]);
      const put = createJobApiClient(job, { fetch: doFetch, retry: fast }).putFile("poster.jpg", Buffer.from("x"));
      await expect(put).rejects.toBeInstanceOf(JobApiError);
      expect(calls).toHaveLength(1);
    }
  });

  it("never sends a name the internal API would refuse", async () => {
    const { doFetch, calls } = scriptedFetch([201]);
    const client = createJobApiClient(job, { fetch: doFetch, retry: fast });
    await expect(client.putFile("../secrets.mpd", Buffer.from("x"))).rejects.toThrow(/not an output file name/);
    await expect(client.putFile("chunk-0-00001.m4s.tmp", Buffer.from("x"))).rejects.toThrow();
    expect(calls).toHaveLength(0);
  });

  it("reads the source's first bytes with a Range request", async () => {
    const calls: RequestInit[] = [];
    const doFetch = (async (_url: string | URL | Request, init?: RequestInit) => {
      calls.push(init ?? {});
      return new Response(new Uint8Array(10_000), { status: 200 });
    }) as typeof fetch;
    const head = await createJobApiClient(job, { fetch: doFetch, retry: fast }).readSourceHead(4096);
    expect(head.byteLength).toBe(4096);
    expect(calls[0]?.headers).toMatchObject({ range: "bytes=0-4095" });
  });

  it("reads an empty source's first bytes as none: its Range is not satisfiable (416)", async () => {
    const { doFetch, calls } = scriptedFetch([416]);
    const head = await createJobApiClient(job, { fetch: doFetch, retry: fast }).readSourceHead(389);
    expect(head.byteLength).toBe(0);
    expect(calls).toHaveLength(1);
  });

  it("streams a file from disk with its length, opening it afresh for a retry", async () => {
    const dir = await mkdtemp(join(tmpdir(), "streambuddy-job-api-"));
    try {
      const path = join(dir, "download-480p.mp4");
      const bytes = new Uint8Array(Array.from({ length: 300_000 }, (_, i) => i % 253));
      await writeFile(path, bytes);
      const received: { length: string | null; body: Uint8Array }[] = [];
      const statuses = [503, 201];
      const doFetch = (async (_url: string | URL | Request, init?: RequestInit) => {
        const headers = new Headers(init?.headers);
        // A stream, not bytes read whole: the body is read here as a server would.
        expect(init?.body).toBeInstanceOf(ReadableStream);
        received.push({
          length: headers.get("content-length"),
          body: new Uint8Array(await new Response(init?.body).arrayBuffer()),
        });
        return new Response("{}", { status: statuses.shift() ?? 201 });
      }) as typeof fetch;
      await createJobApiClient(job, { fetch: doFetch, retry: fast }).putFileFrom("download-480p.mp4", path);
      expect(received).toHaveLength(2);
      for (const r of received) {
        expect(r.length).toBe("300000");
        expect(r.body).toEqual(bytes);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("reads a stored file back as a stream, and a missing one is a 404 it does not retry", async () => {
    const calls: string[] = [];
    const doFetch = (async (url: string | URL | Request) => {
      calls.push(String(url));
      return String(url).endsWith("init-0.m4s")
        ? new Response(new Uint8Array([1, 2, 3]), { status: 200 })
        : new Response("{}", { status: 404 });
    }) as typeof fetch;
    const client = createJobApiClient(job, { fetch: doFetch, retry: fast });
    const stream = await client.openFile("init-0.m4s");
    expect(new Uint8Array(await new Response(stream).arrayBuffer())).toEqual(new Uint8Array([1, 2, 3]));
    await expect(client.openFile("chunk-0-00001.m4s")).rejects.toMatchObject({ status: 404 });
    expect(calls).toEqual([
      "http://api.test/internal/jobs/job-1/files/init-0.m4s",
      "http://api.test/internal/jobs/job-1/files/chunk-0-00001.m4s",
    ]);
  });
});
