/**
 * Buffers of one size, kept for the next user once their bytes have been copied or stored.
 * Upload bodies pass through a few large buffers (1 MiB body chunks, 10 MiB parts); allocating
 * them per request and per part left hundreds of MiB per GiB for the garbage collector. The pools
 * live for the isolate, so consecutive and concurrent requests share them; each holds at most
 * `max` idle buffers.
 *
 * The rule that keeps bytes safe: a buffer is given back once, by the one code path that owns it,
 * after nothing reads it any more.
 */
export class BufferPool {
  private readonly free: Uint8Array[] = [];

  constructor(
    readonly size: number,
    private readonly max = 4,
  ) {}

  take(): Uint8Array {
    return this.free.pop() ?? new Uint8Array(this.size);
  }

  /** Gives back a buffer; anything but a whole buffer of this size, or one already here, is ignored. */
  give(buffer: Uint8Array): void {
    const whole = buffer.byteOffset === 0 && buffer.byteLength === this.size && buffer.buffer.byteLength === this.size;
    if (whole && this.free.length < this.max && !this.free.some((b) => b.buffer === buffer.buffer)) {
      this.free.push(new Uint8Array(buffer.buffer));
    }
  }

  /** Idle buffers held (for tests). */
  get idle(): number {
    return this.free.length;
  }
}

/** Body chunks read by `coalesce`. */
export const chunkBuffers = new BufferPool(1024 * 1024, 8);
/** R2 multipart parts being filled (the part size of new uploads). */
export const partBuffers = new BufferPool(10 * 1024 * 1024, 4);
