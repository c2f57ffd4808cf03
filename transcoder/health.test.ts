import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { createHealthServer } from "./health.ts";
import type { RunnerStatus } from "./runner.ts";

const status = (overrides: Partial<RunnerStatus> = {}): RunnerStatus => ({
  state: "busy",
  capacity: 1,
  running: [
    {
      unitId: "u1",
      jobId: "j1",
      videoId: "v1",
      kind: "encode",
      attempt: 2,
      state: "running",
      progress: 40,
      error: null,
      startedAt: "2026-01-01T00:00:00.000Z",
    },
  ],
  units: { started: 3, completed: 2, failed: 0, stopped: 0, crashed: 0 },
  lastContactAt: "2026-01-01T00:00:00.000Z",
  lastError: null,
  ...overrides,
});

let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

async function serve(current: () => RunnerStatus) {
  const server = createHealthServer(current);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  close = () => new Promise((r) => server.close(() => r()));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe("the runner's health endpoint", () => {
  it("shows what the runner works on", async () => {
    const base = await serve(() => status());
    const res = await fetch(`${base}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true, pid: process.pid, ...status() });
  });

  it("answers 503 once the runner stops or its token was refused", async () => {
    let state: RunnerStatus["state"] = "stopping";
    const base = await serve(() => status({ state, running: [] }));
    const stopping = await fetch(`${base}/healthz`);
    expect(stopping.status).toBe(503);
    expect(await stopping.json()).toMatchObject({ ok: false, state: "stopping" });
    state = "refused";
    expect((await fetch(`${base}/healthz`)).status).toBe(503);
  });

  it("is the only route: no way to push work in", async () => {
    const base = await serve(() => status());
    const post = await fetch(`${base}/jobs`, { method: "POST", body: "{}" });
    expect(post.status).toBe(404);
    expect(((await post.json()) as { error: { code: string } }).error.code).toBe("not_found");
    expect((await fetch(`${base}/healthz`, { method: "POST" })).status).toBe(405);
    expect((await fetch(`${base}/healthz`, { method: "HEAD" })).status).toBe(200);
  });
});
