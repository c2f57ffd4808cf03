/**
 * Request bodies arrive in small pieces (about 4 KiB each in workerd), so a 10 GiB upload is
 * millions of chunks; every chunk that goes through @tus/server's Node stream plumbing costs a
 * handful of objects and a buffer of its own. This reads a body in large pieces instead: with a
 * BYOB reader the bytes land straight in a 1 MiB buffer, so the stream behind it yields
 * hundreds of times fewer chunks for the same bytes.
 *
 * Bytes received before the body breaks are still delivered, and only then the error: an
 * interrupted PATCH keeps what arrived, as the tus store expects. A reader that copies each chunk
 * out gives it back to the pool, so the same few buffers carry the whole body.
 */
import { type BufferPool, chunkBuffers } from "./buffer-pool";

export function coalesce(
  body: ReadableStream<Uint8Array>,
  pool: BufferPool = chunkBuffers,
): ReadableStream<Uint8Array> {
  const size = pool.size;
  const { readInto, cancel } = byteReader(body);
  let failure: { error: unknown } | undefined;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (failure) return controller.error(failure.error);
        const buffer = pool.take();
        let filled = 0;
        let ended = false;
        try {
          while (filled < size) {
            const added = await readInto(buffer, filled);
            if (added === undefined) {
              ended = true;
              break;
            }
            filled += added;
          }
        } catch (error) {
          if (filled === 0) {
            pool.give(buffer);
            return controller.error(error);
          }
          // Deliver what arrived; the error follows on the next read (erroring now would drop it).
          failure = { error };
          return controller.enqueue(buffer.subarray(0, filled));
        }
        if (filled > 0) controller.enqueue(filled === size ? buffer : buffer.subarray(0, filled));
        else pool.give(buffer); // nothing came: the buffer was never handed out
        if (ended) controller.close();
      },
      cancel,
    },
    { highWaterMark: 0 },
  );
}

interface ByteReader {
  /** Copies the body's next bytes into `buffer` at `filled`; the count, or undefined at the end. */
  readInto(buffer: Uint8Array, filled: number): Promise<number | undefined>;
  cancel(reason: unknown): Promise<void>;
}

const SCRATCH_BYTES = 64 * 1024;

function byteReader(body: ReadableStream<Uint8Array>): ByteReader {
  let byob: ReadableStreamBYOBReader | undefined;
  try {
    byob = body.getReader({ mode: "byob" });
  } catch {
    // Not a byte stream: read its chunks and copy them in.
  }
  if (byob) {
    const reader = byob;
    // One scratch buffer, handed to every read and taken back from its result: no allocation per
    // chunk. (Reading into the large buffer itself would transfer it, and a failed read would
    // take the bytes already in it along.)
    let scratch = new Uint8Array(SCRATCH_BYTES);
    const readInto = async (buffer: Uint8Array, filled: number) => {
      const room = Math.min(scratch.byteLength, buffer.byteLength - filled);
      const { done, value } = await reader.read(new Uint8Array(scratch.buffer, 0, room));
      if (value) scratch = new Uint8Array(value.buffer);
      if (done || !value) return undefined;
      buffer.set(value, filled);
      return value.byteLength;
    };
    return { readInto, cancel: (reason) => reader.cancel(reason) };
  }
  const reader = body.getReader();
  let rest: Uint8Array | undefined;
  const readInto = async (buffer: Uint8Array, filled: number) => {
    let chunk = rest;
    rest = undefined;
    if (!chunk) {
      const { done, value } = await reader.read();
      if (done) return undefined;
      chunk = value;
    }
    const take = Math.min(chunk.byteLength, buffer.byteLength - filled);
    buffer.set(chunk.subarray(0, take), filled);
    if (take < chunk.byteLength) rest = chunk.subarray(take);
    return take;
  };
  return { readInto, cancel: (reason) => reader.cancel(reason) };
}
