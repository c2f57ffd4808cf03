import { DurableObject } from "cloudflare:workers";

export interface RateLimitResult {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Seconds until the window resets. */
  resetSeconds: number;
}

/**
 * Exact, global request counting: one instance per (policy, subject), so each counter has a
 * single writer and no instance becomes a hotspot for the others. Fixed windows aligned to the
 * clock (a day window resets at 00:00 UTC), as the old service's daily limits did.
 */
export class RateLimiter extends DurableObject<Env> {
  private windowStart = -1;
  private count = 0;

  /** Counts one request (`cost` 1) or only reads the state (`cost` 0). */
  async hit(limit: number, windowSeconds: number, cost = 1, now = Date.now()): Promise<RateLimitResult> {
    const windowMs = windowSeconds * 1000;
    const start = Math.floor(now / windowMs) * windowMs;
    if (this.windowStart === -1) {
      const stored = await this.ctx.storage.get<{ start: number; count: number }>("w");
      if (stored) ({ start: this.windowStart, count: this.count } = stored);
    }
    if (this.windowStart !== start) {
      this.windowStart = start;
      this.count = 0;
    }
    const allowed = this.count + cost <= limit;
    if (allowed && cost > 0) {
      this.count += cost;
      // Not awaited: the output gate holds the answer until the write is durable.
      this.ctx.storage.put("w", { start, count: this.count });
    }
    return {
      allowed,
      limit,
      remaining: Math.max(0, limit - this.count),
      resetSeconds: Math.max(1, Math.ceil((start + windowMs - now) / 1000)),
    };
  }
}
