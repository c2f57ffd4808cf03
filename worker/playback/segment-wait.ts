/**
 * A segment of a video that plays while processing may be asked for before it is stored (the
 * player is ahead of the encode, or seeked). The request then waits for it a few seconds
 * (PLAYBACK_SEGMENT_WAIT_SECONDS), looking in storage twice a second, and is answered with the
 * segment as soon as it is there. After that it is a 503 with `Retry-After`: dash.js asks again
 * for any failed segment (3 more times, a second apart) and hls.js for a 5xx (6 more times,
 * backing off), where a 404 would end hls.js's tries at once. The wait stays below hls.js's 10 s
 * limit for a segment's first byte and dash.js's 20 s request timeout.
 */
import { ApiError } from "../app/errors";
import type { ObjectStore } from "../storage/store";

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });

/** Whether `key` is stored within `timeoutMs` (looked at every `intervalMs`; stops early when `signal` aborts). */
export async function waitForObject(
  store: ObjectStore,
  key: string,
  options: { timeoutMs: number; intervalMs?: number; signal?: AbortSignal },
): Promise<boolean> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    if (await store.head(key)) return true;
    const left = deadline - Date.now();
    if (left <= 0 || options.signal?.aborted) return false;
    await sleep(Math.min(options.intervalMs ?? 500, left), options.signal);
  }
}

/** How soon a player should ask again for a segment that is still being encoded, seconds. */
export const SEGMENT_RETRY_AFTER_SECONDS = 1;

export const stillEncoding = () =>
  new ApiError("service_unavailable", "This part of the video is still being encoded; ask again in a moment", {
    headers: { "retry-after": String(SEGMENT_RETRY_AFTER_SECONDS) },
  });
