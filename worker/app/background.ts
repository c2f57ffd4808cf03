import type { Context } from "hono";
import type { AppEnv } from "./types";

/**
 * Work that need not hold up the answer (bookkeeping, cleanup, cache fills): handed to
 * `waitUntil` where the runtime gives an execution context, awaited in place where it does not
 * (an app called directly, e.g. from a container's outbound handler), so it is never cut off.
 * Failures are logged, never thrown at the client.
 */
export async function runAfterResponse<E extends AppEnv>(c: Context<E>, what: string, task: Promise<unknown>) {
  const guarded = task.catch((err: unknown) => {
    c.get("logger").warn(`${what} failed`, { error: err instanceof Error ? err.message : String(err) });
  });
  let waitUntil: ((p: Promise<unknown>) => void) | undefined;
  try {
    const ctx = c.executionCtx;
    waitUntil = (p) => ctx.waitUntil(p);
  } catch {
    waitUntil = undefined;
  }
  if (waitUntil) waitUntil(guarded);
  else await guarded;
}

/** {@link runAfterResponse} bound to this request: the `later` hook of code that takes one. */
export const laterFor =
  <E extends AppEnv>(c: Context<E>) =>
  (what: string, task: Promise<unknown>) =>
    runAfterResponse(c, what, task);
