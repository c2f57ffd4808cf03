/**
 * What the runner does with each kind of unit. An `encode` unit is the whole video in one pass:
 * its assignment carries the job as the pipeline needs it. `probe`, `chunk`, `audio` and
 * `finalize` are the units of a chunked encode (transcoder/chunked/units.ts). A claim naming a
 * kind this runner does not know fails its schema check in the claim loop.
 */
import type { UnitAssignment } from "../shared/protocol.ts";
import { runChunkedUnit } from "./chunked/units.ts";
import { type RunContext, runTranscodeJob } from "./pipeline.ts";
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
    const run: RunContext = {
      signal: ctx.signal,
      fetch: ctx.fetch,
      onStatus: ctx.onStatus,
      log,
      settings: options.settings,
      progressIntervalMs: options.progressIntervalMs,
    };
    // Anything else is a unit of a chunked encode: probe, chunk, audio, finalize.
    if (unit.kind === "encode") await runTranscodeJob(unit, run);
    else await runChunkedUnit(unit, run);
  };
}
