/**
 * The composition root: everything a request, a queue batch or a cron run works with, built once
 * for it from the bindings. `fetch` (through the app's request context), `queue` and `scheduled`
 * all start here, so they share one reading of the settings and one way to reach each service.
 */
import { createLogger, type Logger } from "./app/logger";
import { loadSettings, type Settings } from "./app/settings";
import { createDb, type Database } from "./db/client";
import { createStore, type ObjectStore } from "./storage/index";
import { createDispatcher, type TranscoderDispatcher } from "./transcode/dispatcher";

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
  };
  /** How a job reaches a transcoder; built on first use. */
  readonly dispatcher: TranscoderDispatcher;
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
  let dispatcher: TranscoderDispatcher | undefined;
  return {
    env,
    settings,
    logger: createLogger(logContext, settings.logLevel),
    db: createDb(env.DB),
    storage: createStore(env, settings.storage),
    queues: { transcode: env.TRANSCODE_QUEUE, webhooks: env.WEBHOOK_QUEUE },
    get dispatcher() {
      dispatcher ??= createDispatcher(env, settings);
      return dispatcher;
    },
  };
}
