/**
 * The long poll of a claim: claim at once when a unit is claimable, otherwise wait at the runner
 * hub until runners are woken (units became pending), looking at D1 again every few seconds in
 * case a wake was lost, until the claim's time is up.
 */
import type { Runner } from "../db/schema";
import { claimUnit, expireLeases, type TranscodeDeps } from "./lifecycle";

/** How often a waiting claim looks at D1 without being woken. */
export const CLAIM_RECHECK_MS = 5_000;

export async function claimWithin(
  deps: TranscodeDeps,
  runner: Pick<Runner, "id">,
  options: { waitMs: number; recheckMs?: number; signal?: AbortSignal },
) {
  const deadline = Date.now() + options.waitMs;
  const recheckMs = options.recheckMs ?? CLAIM_RECHECK_MS;
  const hub = deps.runners.hub;
  // The wake count before the first look: a wake after it ends the wait at once.
  let seen = await hub.generation();
  for (;;) {
    if (options.signal?.aborted) return null;
    // A unit whose runner went silent is claimable again as soon as its lease has run out.
    await expireLeases(deps);
    const claimed = await claimUnit(deps, runner);
    if (claimed) return claimed;
    const left = deadline - Date.now();
    if (left <= 0) return null;
    seen = await hub.wait(seen, Math.min(left, recheckMs));
  }
}
