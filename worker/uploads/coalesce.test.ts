import { describe, expect, it } from "vitest";
import { BufferPool } from "./buffer-pool";
import { coalesce } from "./coalesce";

const seq = (n: number, from = 0) => Uint8Array.from({ length: n }, (_, i) => (from + i) % 251);

/** A stream of `pieces`, as bytes ("bytes" type, BYOB-capable) or as plain chunks. */
function source(pieces: Uint8Array[], type: "bytes" | "default", failAfter?: Error): ReadableStream<Uint8Array> {
  let i = 0;
  const pull = (controller: ReadableStreamDefaultController<Uint8Array> | ReadableByteStreamController) => {
    const piece = pieces[i++];
    if (piece) return controller.enqueue(piece.slice());
    if (failAfter) return controller.error(failAfter);
    controller.close();
  };
  return type === "bytes" ? new ReadableStream({ type: "bytes", pull }) : new ReadableStream<Uint8Array>({ pull });
}

async function readAll(stream: ReadableStream<Uint8Array>) {
  const chunks: Uint8Array[] = [];
  let error: unknown;
  try {
    for await (const chunk of stream) chunks.push(chunk);
  } catch (err) {
    error = err;
  }
  return { chunks, error, bytes: chunks.flatMap((c) => [...c]) };
}

describe("coalesce", () => {
  for (const type of ["bytes", "default"] as const) {
    it(`turns many small pieces into few large chunks, byte for byte (${type} stream)`, async () => {
      let at = 0;
      const pieces = [3000, 4096, 1, 7000, 4096, 4096, 900].map((n) => {
        const piece = seq(n, at);
        at += n;
        return piece;
      });
      const { chunks, bytes, error } = await readAll(coalesce(source(pieces, type), new BufferPool(10_000)));
      expect(error).toBeUndefined();
      expect(chunks.map((c) => c.byteLength)).toEqual([10_000, 10_000, at - 20_000]);
      expect(bytes).toEqual([...seq(at)]);
    });

    it(`delivers the bytes that arrived before the body broke, then the error (${type} stream)`, async () => {
      const broken = new Error("connection reset");
      const { bytes, error } = await readAll(
        coalesce(source([seq(3000), seq(2000, 3000)], type, broken), new BufferPool(10_000)),
      );
      expect(bytes).toEqual([...seq(5000)]);
      expect(error).toBe(broken);
    });
  }

  it("ends cleanly on an empty body and on a body of exactly one chunk", async () => {
    expect((await readAll(coalesce(source([], "bytes"), new BufferPool(100)))).chunks).toEqual([]);
    const exact = await readAll(coalesce(source([seq(60), seq(40, 60)], "bytes"), new BufferPool(100)));
    expect(exact.chunks.map((c) => c.byteLength)).toEqual([100]);
    expect(exact.bytes).toEqual([...seq(100)]);
  });

  it("passes a cancel on to the body", async () => {
    let cancelled: unknown;
    const body = new ReadableStream<Uint8Array>({
      pull: (c) => c.enqueue(seq(10)),
      cancel: (reason) => {
        cancelled = reason;
      },
    });
    const reader = coalesce(body, new BufferPool(25)).getReader();
    expect((await reader.read()).value?.byteLength).toBe(25);
    await reader.cancel("refused");
    expect(cancelled).toBe("refused");
  });

  it("reads a real request body (workerd's byte stream) in chunks of the asked size", async () => {
    const payload = seq(300_000);
    const request = new Request("http://x/", { method: "PATCH", body: payload });
    const { chunks, bytes } = await readAll(
      coalesce(request.body as ReadableStream<Uint8Array>, new BufferPool(65_536)),
    );
    expect(chunks.slice(0, -1).every((c) => c.byteLength === 65_536)).toBe(true);
    expect(bytes.length).toBe(payload.length);
    expect(new Uint8Array(bytes)).toEqual(payload);
  });
});

describe("BufferPool", () => {
  it("gets back the buffer a read took when no bytes came (end of body, or an error)", async () => {
    const pool = new BufferPool(10);
    const spare = pool.take();
    pool.give(spare);
    await readAll(coalesce(source([], "bytes"), pool));
    expect(pool.idle).toBe(1);
    await readAll(coalesce(source([], "default", new Error("reset")), pool));
    expect(pool.idle).toBe(1);
  });

  it("fills a chunk given back again, and the bytes that come out stay right", async () => {
    const pool = new BufferPool(10);
    const reader = coalesce(source([seq(10), seq(10, 10), seq(10, 20)], "bytes"), pool).getReader();
    const first = (await reader.read()).value as Uint8Array;
    const copied = [...first];
    pool.give(first);
    const second = (await reader.read()).value as Uint8Array;
    expect(second.buffer).toBe(first.buffer);
    expect(copied).toEqual([...seq(10)]);
    expect([...second]).toEqual([...seq(10, 10)]);
    const third = (await reader.read()).value as Uint8Array; // `second` was not given back
    expect(third.buffer).not.toBe(second.buffer);
    expect([...third]).toEqual([...seq(10, 20)]);
  });

  it("takes back only whole buffers of its size, each once, up to its limit", () => {
    const pool = new BufferPool(8, 2);
    const whole = pool.take();
    pool.give(whole.subarray(0, 4)); // a short last chunk
    pool.give(new Uint8Array(new ArrayBuffer(16), 8, 8)); // a view into a larger buffer
    pool.give(whole);
    pool.give(whole);
    expect(pool.take().buffer).toBe(whole.buffer);
    expect(pool.take().buffer).not.toBe(whole.buffer);
    const [a, b, c] = [new Uint8Array(8), new Uint8Array(8), new Uint8Array(8)];
    for (const x of [a, b, c]) pool.give(x);
    const taken = [pool.take(), pool.take(), pool.take()].map((x) => x.buffer);
    expect(taken).toContain(a.buffer);
    expect(taken).toContain(b.buffer);
    expect(taken).not.toContain(c.buffer);
  });
});
