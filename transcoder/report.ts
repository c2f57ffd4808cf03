/**
 * The report phase: what the Worker hears about a job. `progress` events while it runs (they are
 * also its heartbeat: each renews the unit's lease), then one final event, `completed` or
 * `failed`, which no progress event can overtake. A job cancelled by a shutdown ends with no
 * final event, so the Worker gives its unit to another runner.
 */

import type { FailureCode, JobEvent } from "../shared/protocol.ts";
import { asJobFailure, JobFailure } from "./failure.ts";
import type { JobApiClient } from "./job-api.ts";

export type ProgressStage = NonNullable<Extract<JobEvent, { type: "progress" }>["stage"]>;
export type CompletedEvent = Extract<JobEvent, { type: "completed" }>;

/** How a job ended, once reported. */
export type JobEnd = { state: "cancelled" } | { state: "failed"; error: { code: FailureCode; message: string } };

export interface JobReporterOptions {
  /** Progress events at most this often, and at least this often while nothing else is sent. */
  intervalMs: number;
  /** The run's own signal: once it aborts nothing more is sent, and the job ends cancelled. */
  signal: AbortSignal;
  /** Every progress value as it is taken (e.g. for `GET /jobs/{id}`). */
  onProgress?: (progress: number) => void;
  log: (msg: string, fields?: Record<string, unknown>) => void;
}

export interface JobReporter {
  /** Takes a progress value (0–99, never going back); sends it unless one was sent just now. */
  progress(value: number, stage: ProgressStage): void;
  /** Ends progress and posts `completed`; throws when the platform does not take it. */
  completed(event: CompletedEvent): Promise<void>;
  /**
   * Ends progress and reports why the job did not complete: nothing when the run was cancelled,
   * otherwise `failed` with the reason (an undelivered event is logged). Never throws.
   */
  failed(err: unknown): Promise<JobEnd>;
  /** Ends progress; resolves once the event in flight has settled. */
  stop(): Promise<void>;
}

export function createJobReporter(events: Pick<JobApiClient, "postEvent">, options: JobReporterOptions): JobReporter {
  const { signal, log, intervalMs } = options;
  let lastSent = 0;
  let lastValue = -1;
  let inFlight: Promise<void> | null = null;
  let stopped = false;
  let latest: { progress: number; stage: ProgressStage } = { progress: 0, stage: "probing" };

  // One request at a time, never blocking the work: a slow API only makes progress coarser.
  const send = () => {
    if (inFlight || stopped || signal.aborted) return;
    lastSent = Date.now();
    lastValue = latest.progress;
    inFlight = events
      .postEvent(
        { type: "progress", progress: latest.progress, stage: latest.stage },
        { signal, retry: { attempts: 2, baseDelayMs: 250 } },
      )
      .catch((err: unknown) => {
        if (!signal.aborted) log("progress event not delivered", { error: String(err) });
      })
      .finally(() => {
        inFlight = null;
      });
  };
  // The heartbeat: report even when nothing moves.
  const heartbeat = setInterval(() => {
    if (Date.now() - lastSent >= intervalMs) send();
  }, intervalMs);

  const stop = async () => {
    stopped = true;
    clearInterval(heartbeat);
    await inFlight;
  };

  return {
    progress(value, stage) {
      const progress = Math.max(latest.progress, Math.min(99, Math.floor(value)));
      latest = { progress, stage };
      options.onProgress?.(progress);
      if (Date.now() - lastSent >= intervalMs || (stage !== "encoding" && progress !== lastValue)) send();
    },

    async completed(event) {
      await stop();
      await events.postEvent(event, { signal });
      log("job completed", { files: event.files.length, renditions: event.renditions.length });
    },

    async failed(err) {
      await stop();
      if (signal.aborted) {
        log("job cancelled; it will be retried elsewhere");
        return { state: "cancelled" };
      }
      const failure = asJobFailure(err);
      if (err instanceof JobFailure) log("job refused", { code: failure.code, reason: failure.message });
      else log("job failed", { error: err instanceof Error ? err.stack : String(err) });
      await events
        .postEvent({ type: "failed", code: failure.code, message: failure.message })
        .catch((postErr: unknown) => log("failed event not delivered", { error: String(postErr) }));
      return { state: "failed", error: { code: failure.code, message: failure.message } };
    },

    stop,
  };
}
