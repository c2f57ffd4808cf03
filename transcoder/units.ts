/**
 * What the runner does with each kind of unit. An `encode` unit is the whole video in one pass:
 * its assignment carries the job as the pipeline needs it. Kinds this runner does not know are
 * refused with a `failed` event that says so, so the video's owner reads why.
 */
import type { UnitAssignment } from "../shared/protocol.ts";
import { createJobApiClient } from "./job-api.ts";
import { runTranscodeJob } from "./pipeline.ts";
import type { Log, UnitContext, UnitWork } from "./runner.ts";
import type { TranscoderSettings } from "./settings.ts";

export interface UnitWorkOptions {
  log: Log;
  settings?: Partial<TranscoderSettings>;
  /** Progress events at most (and, as a heartbeat, at least) this often; the pipeline's default otherwise. */
  progressIntervalMs?: number;
}

export function createUnitWork(options: UnitWorkOptions): UnitWork {
  return async (unit: UnitAssignment, ctx: UnitContext) => {
    const log: Log = (msg, fields) => options.log(msg, { unitId: unit.unitId, ...fields });
    if (unit.kind === "encode") {
      await runTranscodeJob(unit, {
        signal: ctx.signal,
        fetch: ctx.fetch,
        onStatus: ctx.onStatus,
        log,
        settings: options.settings,
        progressIntervalMs: options.progressIntervalMs,
      });
      return;
    }
    const error = {
      code: "transcode_failed" as const,
      message: `This runner does not know how to run "${unit.kind}" units; it needs an update.`,
    };
    log("unit kind not supported", { kind: unit.kind });
    ctx.onStatus({ state: "failed", error });
    await createJobApiClient(unit, { fetch: ctx.fetch, log })
      .postEvent({ type: "failed", ...error }, { signal: ctx.signal })
      .catch((err: unknown) => {
        if (!ctx.signal.aborted) log("failed event not delivered", { error: String(err) });
      });
  };
}
