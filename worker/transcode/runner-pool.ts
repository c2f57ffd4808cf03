/**
 * Runners the platform starts itself. In production they are Transcoder containers, started while
 * units wait, up to CONTAINER_RUNNERS_MAX, each with a runner token the platform mints; they stop
 * after being idle. Elsewhere (`npm start`, tests) there are none: the local runner is a process
 * of its own.
 */
import type { Logger } from "../app/logger";
import type { Backlog } from "./scheduler";

export interface RunnerPool {
  /** Starts runners for the waiting units, up to the pool's maximum. Resolves with those started. */
  ensure(backlog: Backlog): Promise<string[]>;
  /** The runner got work or reported on it: it is not idle. */
  touch(runnerId: string): Promise<void>;
  /** Stops the runner (its token was revoked). */
  stop(runnerId: string): Promise<void>;
}

export const NO_RUNNER_POOL: RunnerPool = {
  ensure: async () => [],
  touch: async () => {},
  stop: async () => {},
};

/** The slice of the Transcoder container class the pool uses (see container.ts). */
export interface ContainerRunnerStub {
  /** Starts the container with a freshly minted runner token unless it runs already. */
  startRunner(runnerId: string): Promise<"started" | "running">;
  keepAlive(): Promise<void>;
  stopRunner(): Promise<void>;
}

/** Container runners are named `container-1` … `container-<max>`: one Container instance each. */
export const containerRunnerId = (n: number) => `container-${n}`;
export const isContainerRunnerId = (id: string) => /^container-\d+$/.test(id);

export class ContainerRunnerPool implements RunnerPool {
  private readonly max: number;
  private readonly stubFor: (runnerId: string) => ContainerRunnerStub;
  private readonly logger: Logger;

  constructor(max: number, stubFor: (runnerId: string) => ContainerRunnerStub, logger: Logger) {
    this.max = max;
    this.stubFor = stubFor;
    this.logger = logger;
  }

  /**
   * Busy containers keep running; one more container per waiting unit is started (or found
   * running, idle, and kept), until `max` are. Each container runs one unit at a time.
   */
  async ensure(backlog: Backlog): Promise<string[]> {
    const names = Array.from({ length: this.max }, (_, i) => containerRunnerId(i + 1));
    const busy = names.filter((n) => backlog.busyContainers.includes(n));
    const free = names.filter((n) => !backlog.busyContainers.includes(n));
    const wanted = free.slice(0, Math.max(0, Math.min(this.max - busy.length, backlog.pending)));
    const outcomes = await Promise.allSettled(wanted.map((id) => this.stubFor(id).startRunner(id)));
    const started: string[] = [];
    outcomes.forEach((outcome, i) => {
      const id = wanted[i] as string;
      if (outcome.status === "fulfilled") {
        if (outcome.value === "started") started.push(id);
      } else {
        this.logger.warn("container runner did not start", { runnerId: id, error: String(outcome.reason) });
      }
    });
    if (started.length > 0) this.logger.info("container runners started", { started, pending: backlog.pending });
    return started;
  }

  async touch(runnerId: string): Promise<void> {
    if (isContainerRunnerId(runnerId)) await this.stubFor(runnerId).keepAlive();
  }

  async stop(runnerId: string): Promise<void> {
    if (isContainerRunnerId(runnerId)) await this.stubFor(runnerId).stopRunner();
  }
}
