import { DurableObject } from "cloudflare:workers";

/** One limit: at most `limit` requests per fixed window of `windowSeconds`. */
export interface RateLimitPolicy {
  name: string;
  limit: number;
  windowSeconds: number;
}

export interface RateLimitPolicyState {
  name: string;
  limit: number;
  windowSeconds: number;
  remaining: number;
  /** Seconds until the window resets. */
  resetSeconds: number;
  exhausted: boolean;
}

export interface RateLimitDecision {
  allowed: boolean;
  policies: RateLimitPolicyState[];
}

interface StoredWindow {
  start: number;
  end: number;
  count: number;
}

const storageKey = (p: RateLimitPolicy) => `w:${p.name}:${p.windowSeconds}`;

/**
 * Exact, global request counting for one subject (`ip:…` or `user:…`), with a counter per policy.
 * One instance per subject keeps every counter single-writer without a global hotspot, and lets
 * one call check several policies at once (an upload counts against the user's daily limit and the
 * upload limit), so a request costs at most one round trip. Windows are fixed and aligned to the
 * clock: a day window resets at 00:00 UTC, an hour window on the hour.
 */
export class RateLimiter extends DurableObject<Env> {
  /**
   * Counts one request against every policy, or against none when any of them is exhausted. The
   * method never awaits, so concurrent calls cannot interleave; the writes are durable before the
   * answer leaves (output gate). `now` is for tests.
   */
  check(policies: RateLimitPolicy[], now = Date.now()): RateLimitDecision {
    return this.evaluate(policies, now, true);
  }

  /** The same answer as `check` would give, without counting anything. */
  peek(policies: RateLimitPolicy[], now = Date.now()): RateLimitDecision {
    return this.evaluate(policies, now, false);
  }

  private evaluate(policies: RateLimitPolicy[], now: number, count: boolean): RateLimitDecision {
    const kv = this.ctx.storage.kv;
    const windows = policies.map((policy) => {
      const windowMs = policy.windowSeconds * 1000;
      const start = Math.floor(now / windowMs) * windowMs;
      const stored = kv.get<StoredWindow>(storageKey(policy));
      const used = stored && stored.start === start ? stored.count : 0;
      return { policy, start, end: start + windowMs, used };
    });
    const allowed = windows.every((w) => w.used < w.policy.limit);
    if (allowed && count) {
      let newWindowEnd = 0;
      for (const w of windows) {
        w.used += 1;
        kv.put<StoredWindow>(storageKey(w.policy), { start: w.start, end: w.end, count: w.used });
        if (w.used === 1) newWindowEnd = Math.max(newWindowEnd, w.end);
      }
      // Once a window opens, schedule the cleanup of counters nobody will read again.
      if (newWindowEnd > 0) void this.ctx.storage.setAlarm(newWindowEnd);
    }
    return {
      allowed,
      policies: windows.map((w) => ({
        name: w.policy.name,
        limit: w.policy.limit,
        windowSeconds: w.policy.windowSeconds,
        remaining: Math.max(0, w.policy.limit - w.used),
        resetSeconds: Math.max(1, Math.ceil((w.end - now) / 1000)),
        exhausted: w.used >= w.policy.limit,
      })),
    };
  }

  /** Drops windows that have ended; re-arms for the latest one still open. */
  override async alarm() {
    const now = Date.now();
    const kv = this.ctx.storage.kv;
    let latestEnd = 0;
    for (const [key, window] of kv.list<StoredWindow>({ prefix: "w:" })) {
      if (window.end <= now) kv.delete(key);
      else latestEnd = Math.max(latestEnd, window.end);
    }
    if (latestEnd > 0) await this.ctx.storage.setAlarm(latestEnd);
    else await this.ctx.storage.deleteAll();
  }
}
