import { DurableObject } from "cloudflare:workers";

/**
 * Where waiting claims wait: one instance for the deployment. A claim that found nothing waits
 * here until the lifecycle wakes runners (units became pending) or its time is up. Wakes are
 * counted, so a wake that lands between a claim's look at D1 and its wait is never missed: the
 * claim passes the count it saw, and a different count answers at once.
 */
export class RunnerHub extends DurableObject<Env> {
  private wakes = 0;
  private readonly waiting = new Set<() => void>();

  /** How many wakes this instance has seen. */
  async generation(): Promise<number> {
    return this.wakes;
  }

  /**
   * Resolves with the wake count once it differs from `seen`, or after `timeoutMs`.
   * (An instance that restarted counts from 0 again; a count that differs still answers at once.)
   */
  async wait(seen: number, timeoutMs: number): Promise<number> {
    if (seen !== this.wakes || timeoutMs <= 0) return this.wakes;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiting.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.waiting.add(done);
    });
    return this.wakes;
  }

  /** Units became claimable: every waiting claim looks again. */
  async wake(): Promise<number> {
    this.wakes++;
    for (const done of [...this.waiting]) done();
    return this.wakes;
  }
}

/** The slice of the hub the Worker uses (so tests and other runtimes can stand in for it). */
export interface RunnerHubStub {
  generation(): Promise<number>;
  wait(seen: number, timeoutMs: number): Promise<number>;
  wake(): Promise<number>;
}

export const RUNNER_HUB_NAME = "runners";

export function runnerHub(env: Env): RunnerHubStub {
  return env.RUNNER_HUB.getByName(RUNNER_HUB_NAME) as unknown as RunnerHubStub;
}
