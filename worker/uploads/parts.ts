/**
 * Re-chunks bytes of any sizes into fixed-size parts, as R2 multipart uploads require (every part
 * but the last the same size). Holds at most one part in memory, whatever the upload's size.
 */
export class PartAccumulator {
  readonly partSize: number;
  private buffer: Uint8Array;
  private filled = 0;

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

  /** Adds bytes; returns every part completed by them (each a fresh array the caller owns). */
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
        this.buffer = new Uint8Array(this.partSize);
        this.filled = 0;
      }
    }
    return full;
  }

  /** The bytes held back (the tail), leaving the accumulator empty. */
  drain(): Uint8Array {
    const tail = this.buffer.slice(0, this.filled);
    this.filled = 0;
    return tail;
  }
}
