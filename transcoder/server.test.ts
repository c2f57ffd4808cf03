import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { TranscodeJob } from "../shared/protocol.ts";
import { createTranscoderServer, type JobRunner, type TranscoderServer } from "./server.ts";

const job = (id = "job-1"): TranscodeJob => ({
  jobId: id,
  videoId: "vid-1",
  version: "v1",
  apiBase: `http://127.0.0.1:9/internal/jobs/${id}`,
  token: "t".repeat(32),
  maxHeight: 1080,
  maxDurationSeconds: 3600,
});

let current: TranscoderServer | undefined;
afterEach(async () => {
  await current?.shutdown();
  current = undefined;
});

async function start(runJob: JobRunner, maxConcurrentJobs = 1) {
  current = createTranscoderServer({ runJob, maxConcurrentJobs, log: () => {} });
  await new Promise<void>((resolve) => current?.server.listen(0, "127.0.0.1", resolve));
  const { port } = current.server.address() as AddressInfo;
  const base = `http://127.0.0.1:${port}`;
  return {
    server: current,
    post: (body: unknown) =>
      fetch(`${base}/jobs`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: typeof body === "string" ? body : JSON.stringify(body),
      }),
    get: (path: string) => fetch(`${base}${path}`),
  };
}

/** A runner that stays busy until aborted, and counts how often it was started. */
function blockingRunner() {
  const started: string[] = [];
  const runner: JobRunner = (j, signal, onStatus) => {
    started.push(j.jobId);
    onStatus({ state: "running" });
    return new Promise<void>((resolve) => {
      signal.addEventListener("abort", () => {
        onStatus({ state: "cancelled" });
        resolve();
      });
    });
  };
  return { runner, started };
}

describe("transcoder HTTP API", () => {
  it("answers /healthz", async () => {
    const { get } = await start(blockingRunner().runner);
    const res = await get("/healthz");
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ ok: true });
  });

  it("accepts a valid job with 202 and reports it under /jobs/{id}", async () => {
    const { runner, started } = blockingRunner();
    const { post, get } = await start(runner);
    const res = await post(job());
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ jobId: "job-1" });
    expect(started).toEqual(["job-1"]);
    const status = await (await get("/jobs/job-1")).json();
    expect(status).toMatchObject({ jobId: "job-1", state: "running" });
  });

  it("never starts the same job twice", async () => {
    const { runner, started } = blockingRunner();
    const { post, get } = await start(runner);
    expect((await post(job())).status).toBe(202);
    expect((await post(job())).status).toBe(202);
    expect(started).toEqual(["job-1"]);
    expect(await (await get("/healthz")).json()).toMatchObject({ accepted: 1, pid: process.pid });
  });

  it("refuses a second job while busy with 503, so the dispatcher retries", async () => {
    const { post } = await start(blockingRunner().runner, 1);
    expect((await post(job("a"))).status).toBe(202);
    const res = await post(job("b"));
    expect(res.status).toBe(503);
  });

  it("refuses malformed and invalid job descriptions with 400", async () => {
    const { post } = await start(blockingRunner().runner);
    const malformed = await post("{nope");
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as { error: { code: string } }).error.code).toBe("invalid_json");
    const invalid = await post({ ...job(), apiBase: "not a url", version: "../x" });
    expect(invalid.status).toBe(400);
    expect(((await invalid.json()) as { error: { code: string } }).error.code).toBe("validation_error");
  });

  it("answers unknown paths with 404 and wrong methods with 405", async () => {
    const { get } = await start(blockingRunner().runner);
    expect((await get("/nope")).status).toBe(404);
    expect((await get("/jobs")).status).toBe(405);
    expect((await get("/jobs/unknown")).status).toBe(404);
  });

  it("aborts running jobs and waits for them on shutdown", async () => {
    const { runner } = blockingRunner();
    const { post, server } = await start(runner);
    await post(job());
    await server.shutdown();
    current = undefined;
    expect(server.jobs.get("job-1")?.state).toBe("cancelled");
    expect(server.server.listening).toBe(false);
  });
});
