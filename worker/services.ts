/**
 * The composition root: everything a request, a queue batch or a cron run works with, built once
 * for it from the bindings. `fetch` (through the app's request context), `queue` and `scheduled`
 * all start here, so they share one reading of the settings and one way to reach each service.
 */
import { getContainer } from "@cloudflare/containers";
import { createLogger, type Logger } from "./app/logger";
import { loadSettings, type Settings } from "./app/settings";
import { createDb, type Database } from "./db/client";
import { runnerHub } from "./durable/runner-hub";
import { createStore, type ObjectStore } from "./storage/index";
import type { RunnerSignals } from "./transcode/lifecycle";
import {
  ContainerRunnerPool,
  type ContainerRunnerStub,
  NO_RUNNER_POOL,
  type RunnerPool,
} from "./transcode/runner-pool";
import { backlog } from "./transcode/scheduler";

export interface Services {
  env: Env;
  settings: Settings;
  logger: Logger;
  db: Database;
  /**
   * Sources, uploads in progress and every version's outputs: the R2 binding or an S3-compatible
   * bucket (STORAGE_BACKEND), through one interface. Everything that touches objects uses it.
   */
  storage: ObjectStore;
  queues: {
    /** `{videoId}` messages: a finished upload to transcode. */
    transcode: Queue;
    /** `video.ready` / `video.failed` deliveries. */
    webhooks: Queue;
    /** `{videoId}` messages: an import from a URL to fetch (or to go on fetching). */
    imports: Queue;
  };
  /** Where waiting claims wait, and the runners the platform starts itself; built on first use. */
  readonly runners: RunnerSignals;
}

/** Containers when CONTAINER_RUNNERS_MAX allows them (production), none otherwise. */
function createRunnerPool(env: Env, settings: Settings, logger: Logger): RunnerPool {
  if (settings.runners.containerMax === 0) return NO_RUNNER_POOL;
  return new ContainerRunnerPool(
    settings.runners.containerMax,
    (runnerId) => getContainer(env.TRANSCODER, runnerId) as unknown as ContainerRunnerStub,
    logger,
  );
}

/**
 * Builds the services for one request, batch or cron run. Throws `SettingsError` when a setting
 * is invalid or production lacks a required secret; each entry point refuses to work then.
 *
 * @example
 * const services = createServices(env, { queue: batch.queue });
 */
export function createServices(env: Env, logContext: Record<string, unknown> = {}): Services {
  const settings = loadSettings(env);
  const logger = createLogger(logContext, settings.logLevel);
  const db = createDb(env.DB);
  let runners: RunnerSignals | undefined;
  return {
    env,
    settings,
    logger,
    db,
    storage: createStore(env, settings.storage),
    queues: { transcode: env.TRANSCODE_QUEUE, webhooks: env.WEBHOOK_QUEUE, imports: env.IMPORT_QUEUE },
    get runners() {
      if (!runners) {
        const hub = runnerHub(env);
        const pool = createRunnerPool(env, settings, logger);
        runners = {
          hub,
          pool,
          async wake() {
            await hub.wake();
            if (pool !== NO_RUNNER_POOL) await pool.ensure(await backlog(db));
          },
        };
      }
      return runners;
    },
  };
}
