/**
 * Re-chunks bytes of any sizes into fixed-size parts, as R2 multipart uploads require (every part
 * but the last the same size). Holds one part being filled, whatever the upload's size; parts
 * handed back through `recycle` are filled again, so a long upload reuses the same few buffers
 * instead of leaving a part-sized one behind for the garbage collector at every part.
 */
export class PartAccumulator {
  readonly partSize: number;
  private buffer: Uint8Array;
  private filled = 0;
  private readonly spares: Uint8Array[] = [];

  constructor(partSize: number, initial?: Uint8Array) {
    this.partSize = partSize;
    this.buffer = new Uint8Array(partSize);
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
        this.buffer = this.spares.pop() ?? new Uint8Array(this.partSize);
        this.filled = 0;
      }
    }
    return full;
  }

  /** Takes back a part returned by `push` once its bytes are stored; it will be overwritten. */
  recycle(part: Uint8Array): void {
    if (part.byteLength === this.partSize && part !== this.buffer && !this.spares.includes(part)) {
      this.spares.push(part);
    }
  }

  /** The bytes held back (the tail), leaving the accumulator empty. */
  drain(): Uint8Array {
    const tail = this.buffer.slice(0, this.filled);
    this.filled = 0;
    return tail;
  }
}
