import { describe, expect, it } from "vitest";
import { createLogger } from "../app/logger";
import { ContainerRunnerPool, type ContainerRunnerStub, containerRunnerId, NO_RUNNER_POOL } from "./runner-pool";

/** Container instances that record what the pool asks of them; `running` ones are up already. */
function fakeContainers(options: { running?: string[]; broken?: string[] } = {}) {
  const calls: string[] = [];
  const up = new Set(options.running ?? []);
  const stubFor = (id: string): ContainerRunnerStub => ({
    async startRunner(runnerId) {
      calls.push(`start ${runnerId}`);
      if (options.broken?.includes(id)) throw new Error("no capacity in this location");
      if (up.has(id)) return "running";
      up.add(id);
      return "started";
    },
    async keepAlive() {
      calls.push(`keepAlive ${id}`);
    },
    async stopRunner() {
      calls.push(`stop ${id}`);
      up.delete(id);
    },
  });
  return { calls, up, stubFor };
}

const logger = createLogger({}, "error");
const backlog = (pending: number, busyContainers: string[] = []) => ({
  pending,
  running: busyContainers.length,
  busyContainers,
});

describe("the container runner pool", () => {
  it("starts one container per waiting unit, up to its maximum", async () => {
    const fake = fakeContainers();
    const pool = new ContainerRunnerPool(3, fake.stubFor, logger);
    expect(await pool.ensure(backlog(5))).toEqual(["container-1", "container-2", "container-3"]);
    expect([...fake.up].sort()).toEqual(["container-1", "container-2", "container-3"]);
  });

  it("starts nothing without a backlog", async () => {
    const fake = fakeContainers();
    expect(await new ContainerRunnerPool(3, fake.stubFor, logger).ensure(backlog(0))).toEqual([]);
    expect(fake.calls).toEqual([]);
  });

  it("counts busy containers against the maximum and starts the others", async () => {
    const fake = fakeContainers({ running: ["container-1"] });
    const pool = new ContainerRunnerPool(2, fake.stubFor, logger);
    expect(await pool.ensure(backlog(4, ["container-1"]))).toEqual(["container-2"]);
    expect(fake.calls).toEqual(["start container-2"]);
    expect(await pool.ensure(backlog(4, ["container-1", "container-2"]))).toEqual([]);
  });

  it("keeps an idle running container for a waiting unit instead of starting another", async () => {
    const fake = fakeContainers({ running: ["container-1"] });
    const pool = new ContainerRunnerPool(3, fake.stubFor, logger);
    expect(await pool.ensure(backlog(1))).toEqual([]);
    expect(fake.calls).toEqual(["start container-1"]);
  });

  it("starts the rest when one container cannot start", async () => {
    const fake = fakeContainers({ broken: ["container-1"] });
    const pool = new ContainerRunnerPool(2, fake.stubFor, logger);
    expect(await pool.ensure(backlog(2))).toEqual(["container-2"]);
  });

  it("keeps container runners awake and stops them by id, and ignores other runners", async () => {
    const fake = fakeContainers({ running: ["container-2"] });
    const pool = new ContainerRunnerPool(2, fake.stubFor, logger);
    await pool.touch(containerRunnerId(2));
    await pool.stop(containerRunnerId(2));
    await pool.touch("a-remote-runner");
    await pool.stop("local");
    expect(fake.calls).toEqual(["keepAlive container-2", "stop container-2"]);
  });

  it("has a no-op stand-in where the platform runs no containers", async () => {
    expect(await NO_RUNNER_POOL.ensure(backlog(10))).toEqual([]);
  });
});
