/**
 * Runs one transcode job end to end and reports to the Worker's internal job API.
 */
import type { JobEvent, JobStatus, TranscodeJob } from "./protocol.ts";

export interface RunContext {
  signal: AbortSignal;
  onStatus: (update: Partial<Omit<JobStatus, "jobId">>) => void;
  log: (msg: string, fields?: Record<string, unknown>) => void;
  fetch?: typeof fetch;
}

/** POSTs one event to the internal job API. */
export async function postEvent(job: TranscodeJob, event: JobEvent, doFetch: typeof fetch = fetch): Promise<void> {
  const res = await doFetch(`${job.apiBase}/events`, {
    method: "POST",
    headers: { authorization: `Bearer ${job.token}`, "content-type": "application/json" },
    body: JSON.stringify(event),
  });
  if (!res.ok) throw new Error(`event ${event.type} refused: ${res.status}`);
}

export async function runTranscodeJob(job: TranscodeJob, ctx: RunContext): Promise<void> {
  const message = "This transcoder build does not encode yet";
  ctx.onStatus({ state: "failed", error: { code: "transcode_failed", message } });
  await postEvent(job, { type: "failed", code: "transcode_failed", message }, ctx.fetch);
}
