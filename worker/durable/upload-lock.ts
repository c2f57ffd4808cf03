import { DurableObject } from "cloudflare:workers";

/**
 * One lock per resumable upload, shared by every isolate: two PATCHes of the same upload never
 * write at once. A lease expires unless its holder renews it, so a crashed holder cannot block
 * the upload for longer than the lease.
 */
export class UploadLock extends DurableObject<Env> {
  private holder: string | null = null;
  private expiresAt = 0;

  /** Takes (or renews) the lock for `holder`; false while someone else holds a live lease. */
  async acquire(holder: string, leaseMs: number, now = Date.now()): Promise<boolean> {
    if (this.holder && this.holder !== holder && this.expiresAt > now) return false;
    this.holder = holder;
    this.expiresAt = now + leaseMs;
    return true;
  }

  async release(holder: string): Promise<void> {
    if (this.holder === holder) {
      this.holder = null;
      this.expiresAt = 0;
    }
  }
}
