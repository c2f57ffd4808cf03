import { BufferPool, partBuffers } from "./buffer-pool";

/**
 * Re-chunks bytes of any sizes into fixed-size parts, as R2 multipart uploads require (every part
 * but the last the same size). Holds one part being filled, whatever the upload's size. Part
 * buffers come from a pool (the isolate's, for the usual part size): parts handed back through
 * `recycle` and the last buffer handed back by `release` are filled again by later parts and
 * later requests, instead of leaving a part-sized buffer for the garbage collector each time.
 */
export class PartAccumulator {
  readonly partSize: number;
  private readonly pool: BufferPool;
  private buffer: Uint8Array;
  private filled = 0;

  constructor(partSize: number, initial?: Uint8Array, pool?: BufferPool) {
    this.partSize = partSize;
    this.pool = pool ?? (partBuffers.size === partSize ? partBuffers : new BufferPool(partSize, 1));
    this.buffer = this.pool.take();
    if (initial) {
      if (initial.length >= partSize) throw new Error("initial bytes must be smaller than a part");
      this.buffer.set(initial);
      this.filled = initial.length;
    }
  }

  /** Bytes held that do not yet make a whole part. */
  get pending(): number {
    return this.filled;
  }

  /**
   * Adds bytes; returns every part completed by them. The caller owns a returned part until it
   * hands it back to `recycle`.
   */
  push(chunk: Uint8Array): Uint8Array[] {
    const full: Uint8Array[] = [];
    let at = 0;
    while (at < chunk.length) {
      const take = Math.min(this.partSize - this.filled, chunk.length - at);
      this.buffer.set(chunk.subarray(at, at + take), this.filled);
      this.filled += take;
      at += take;
      if (this.filled === this.partSize) {
        full.push(this.buffer);
        this.buffer = this.pool.take();
        this.filled = 0;
      }
    }
    return full;
  }

  /** Takes back a part returned by `push` once its bytes are stored; it will be overwritten. */
  recycle(part: Uint8Array): void {
    if (part.buffer !== this.buffer.buffer) this.pool.give(part);
  }

  /** Hands the buffer being filled back to the pool: call once, after `drain`, when done. */
  release(): void {
    this.filled = 0;
    this.pool.give(this.buffer);
    this.buffer = new Uint8Array(0);
  }

  /** The bytes held back (the tail), leaving the accumulator empty. */
  drain(): Uint8Array {
    const tail = this.buffer.slice(0, this.filled);
    this.filled = 0;
    return tail;
  }
}
