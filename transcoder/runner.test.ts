/**
 * The claim loop against a stand-in Worker, with stand-in work (no ffmpeg): what it claims with,
 * when it claims, how units stop, how it rides out a Worker that goes away, and how it ends.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { UnitAssignment } from "../shared/protocol.ts";
import { FAKE_RUNNER_TOKEN, type FakeWorker, startFakeWorker } from "../test/transcoder/fake-worker.ts";
import { type Runner, type RunnerOptions, startRunner, type UnitContext } from "./runner.ts";

const unit = (id: string, overrides: Partial<UnitAssignment> = {}): UnitAssignment => ({
  unitId: id,
  jobId: `job-${id}`,
  videoId: `video-${id}`,
  version: "v1",
  kind: "encode",
  attempt: 1,
  apiBase: `http://127.0.0.1:9/internal/units/${id}`,
  token: "t".repeat(32),
  leaseSeconds: 60,
  maxHeight: 1080,
  maxDurationSeconds: 3600,
  input: {},
  ...overrides,
});

/** Work that lasts until released (or aborted), recording what it was given. */
function controllableWork() {
  const started: { unit: UnitAssignment; ctx: UnitContext; release: (state?: "completed" | "failed") => void }[] = [];
  const waiters: (() => void)[] = [];
  const work: RunnerOptions["work"] = (u, ctx) =>
    new Promise<void>((resolve) => {
      ctx.onStatus({ state: "running" });
      const release = (state: "completed" | "failed" = "completed") => {
        ctx.onStatus({ state });
        resolve();
      };
      ctx.signal.addEventListener("abort", () => {
        ctx.onStatus({ state: "cancelled" });
        resolve();
      });
      started.push({ unit: u, ctx, release });
      for (const w of waiters.splice(0)) w();
    });
  const startedCount = async (n: number) => {
    while (started.length < n) await new Promise<void>((r) => waiters.push(r));
  };
  return { work, started, startedCount };
}

const until = async (check: () => boolean, timeoutMs = 10_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not reached in time");
    await new Promise((r) => setTimeout(r, 10));
  }
};

let worker: FakeWorker;
let runner: Runner | undefined;
let logs: { msg: string; fields?: Record<string, unknown> }[];

async function start(options: Partial<RunnerOptions> & Pick<RunnerOptions, "work">) {
  worker = await startFakeWorker();
  logs = [];
  runner = startRunner({
    apiBase: `${worker.url}/`,
    token: FAKE_RUNNER_TOKEN,
    capacity: 1,
    log: (msg, fields) => logs.push({ msg, fields }),
    waitSeconds: 1,
    backoff: { baseMs: 20, maxMs: 100 },
    ...options,
  });
  return runner;
}

afterEach(async () => {
  await runner?.stop();
  runner = undefined;
  await worker?.close();
});

describe("the claim loop", () => {
  it("claims with its token, reporting what it holds and its capacity, and runs what it is given", async () => {
    const { work, started, startedCount } = controllableWork();
    await start({ work });
    await worker.claimsReached(1);
    expect(worker.claims[0]).toMatchObject({
      authorization: `Bearer ${FAKE_RUNNER_TOKEN}`,
      running: [],
      capacity: 1,
      wait_seconds: 1,
    });
    worker.offer(unit("u1"));
    await startedCount(1);
    expect(started[0]?.unit.unitId).toBe("u1");
    expect(runner?.status()).toMatchObject({
      state: "busy",
      running: [{ unitId: "u1", videoId: "video-u1", attempt: 1, state: "running" }],
    });
  });

  it("sends no claim while at capacity, and the next one as soon as a unit ends", async () => {
    const { work, started, startedCount } = controllableWork();
    await start({ work });
    worker.offer(unit("u1"), unit("u2"));
    await startedCount(1);
    const claimsWhileBusy = worker.claims.length;
    await new Promise((r) => setTimeout(r, 300));
    expect(worker.claims.length).toBe(claimsWhileBusy);
    started[0]?.release();
    await startedCount(2);
    expect(started[1]?.unit.unitId).toBe("u2");
    // The claim that got u2 came right after u1 ended, and listed nothing held.
    expect(worker.claims.at(-1)).toMatchObject({ running: [], status: 200 });
    const ended = logs.find((l) => l.msg === "unit finished" && l.fields?.unitId === "u1");
    const next = logs.find((l) => l.msg === "unit started" && l.fields?.unitId === "u2");
    expect(ended?.fields).toMatchObject({ outcome: "completed", videoId: "video-u1", jobId: "job-u1", attempt: 1 });
    expect(next?.fields).toMatchObject({ videoId: "video-u2", kind: "encode" });
    expect(logs.indexOf(next as never)).toBeGreaterThan(logs.indexOf(ended as never));
  });

  it("answers a 204 with the next claim at once", async () => {
    await start({ work: controllableWork().work, waitSeconds: 0 });
    await worker.claimsReached(5);
    expect(worker.claims.slice(0, 5).every((c) => c.status === 204 || c.status === null)).toBe(true);
  });

  it("runs up to its capacity at once with one claim in flight, listing the units it holds", async () => {
    const { work, started, startedCount } = controllableWork();
    await start({ work, capacity: 3 });
    worker.offer(unit("a"), unit("b"));
    await startedCount(2);
    await worker.claimsReached(3);
    expect(worker.claims[2]).toMatchObject({ running: ["a", "b"], capacity: 3 });
    worker.offer(unit("c"));
    await startedCount(3);
    started[1]?.release();
    await until(() => worker.claims.some((c) => c.running.join() === "a,c"));
    expect(worker.maxClaimsInFlight).toBe(1);
    expect(runner?.status().units).toMatchObject({ started: 3, completed: 1 });
  });

  it.each([410, 401])("stops a unit at once when one of its calls is answered %i, and carries on", async (status) => {
    const { work, started, startedCount } = controllableWork();
    await start({ work });
    // A unit API that answers every call with `status`.
    const unitApi = createServer((_req, res) => res.writeHead(status).end());
    await new Promise<void>((r) => unitApi.listen(0, "127.0.0.1", r));
    const apiBase = `http://127.0.0.1:${(unitApi.address() as AddressInfo).port}/internal/units/u1`;
    try {
      worker.offer(unit("u1", { apiBase }));
      await startedCount(1);
      const first = started[0] as (typeof started)[number];
      const res = await first.ctx.fetch(`${apiBase}/events`, { method: "POST", body: "{}" });
      // The answer is handed back, and the unit's signal has already aborted.
      expect(res.status).toBe(status);
      expect(first.ctx.signal.aborted).toBe(true);
      await until(() => runner?.status().running.length === 0);
      expect(logs.find((l) => l.msg === "unit finished")?.fields).toMatchObject({
        unitId: "u1",
        outcome: "stopped",
        stoppedBy: status,
      });
      worker.offer(unit("u2"));
      await startedCount(2);
      expect(runner?.status().units).toMatchObject({ started: 2, stopped: 1 });
    } finally {
      await new Promise((r) => unitApi.close(r));
    }
  });

  it("ends when its token is refused, stopping what it holds", async () => {
    const { work, started, startedCount } = controllableWork();
    const r = await start({ work, capacity: 2 });
    worker.offer(unit("u1"));
    await startedCount(1);
    worker.revoke();
    expect(await r.done).toBe("refused");
    expect(started[0]?.ctx.signal.aborted).toBe(true);
    expect(r.status()).toMatchObject({ state: "refused", running: [] });
    expect(logs.some((l) => l.msg === "runner token refused; stopping")).toBe(true);
  });

  it("backs off while the Worker is away and carries on when it is back", async () => {
    const { work, startedCount } = controllableWork();
    const r = await start({ work });
    await worker.claimsReached(1);
    await worker.goAway();
    await until(() => logs.filter((l) => l.msg === "claim failed; retrying").length >= 3);
    expect(r.status().state).toBe("backing_off");
    expect(r.status().lastError).toBeTruthy();
    const delays = logs.filter((l) => l.msg === "claim failed; retrying").map((l) => l.fields?.retryInMs as number);
    // Doubling (with jitter) up to the cap.
    expect(Math.max(...delays)).toBeLessThanOrEqual(125);
    expect(delays[2]).toBeGreaterThan((delays[0] as number) * 1.5);
    await worker.comeBack();
    worker.offer(unit("after"));
    await startedCount(1);
    expect(logs.some((l) => l.msg === "worker reachable again")).toBe(true);
    expect(r.status().lastError).toBeNull();
  });

  it("retries 5xx answers and cut connections, honouring Retry-After", async () => {
    const { work, startedCount } = controllableWork();
    worker = await startFakeWorker();
    worker.script({ status: 503, headers: { "retry-after": "1" }, body: { error: { code: "service_unavailable" } } });
    worker.script("drop", { status: 500 });
    logs = [];
    runner = startRunner({
      apiBase: worker.url,
      token: FAKE_RUNNER_TOKEN,
      capacity: 1,
      work,
      log: (msg, fields) => logs.push({ msg, fields }),
      waitSeconds: 1,
      backoff: { baseMs: 20, maxMs: 100 },
    });
    worker.offer(unit("u1"));
    await startedCount(1);
    const retries = logs.filter((l) => l.msg === "claim failed; retrying");
    expect(retries.map((l) => l.fields?.retryInMs)).toEqual([1000, expect.any(Number), expect.any(Number)]);
    expect(String(retries[0]?.fields?.error)).toContain("HTTP 503");
  });

  it("does not start a unit whose assignment does not fit the protocol, and does not list it", async () => {
    const { work, started } = controllableWork();
    await start({ work });
    worker.script({ status: 200, body: { unit: { unitId: "broken" } } });
    await worker.claimsReached(3);
    expect(started).toHaveLength(0);
    expect(worker.claims.every((c) => c.running.length === 0)).toBe(true);
  });

  it("on stop ends the claim in flight and stops its units, then settles", async () => {
    const { work, started, startedCount } = controllableWork();
    const r = await start({ work, capacity: 2, waitSeconds: 25 });
    worker.offer(unit("u1"));
    await startedCount(1);
    await worker.claimsReached(2);
    const t0 = Date.now();
    await r.stop();
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(await r.done).toBe("stopped");
    expect(started[0]?.ctx.signal.aborted).toBe(true);
    expect(r.status()).toMatchObject({ state: "stopped", running: [], units: { started: 1, stopped: 1 } });
    const claimsAtStop = worker.claims.length;
    await new Promise((res) => setTimeout(res, 200));
    expect(worker.claims.length).toBe(claimsAtStop);
  });
});
