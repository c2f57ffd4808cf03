import { createLogger } from "../lib/logger";

/** The periodic sweep (wrangler.toml [triggers]). */
export async function runScheduledSweep(controller: ScheduledController, env: Env, _ctx: ExecutionContext) {
  const logger = createLogger({ cron: controller.cron });
  logger.info("sweep", { at: new Date(controller.scheduledTime).toISOString() });
  void env;
}
