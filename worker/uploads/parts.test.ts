import { describe, expect, it } from "vitest";
import { BufferPool } from "./buffer-pool";
import { PartAccumulator } from "./parts";

const seq = (n: number, from = 0) => Uint8Array.from({ length: n }, (_, i) => (from + i) % 256);

describe("PartAccumulator", () => {
  it("turns chunks of uneven sizes into equal parts and keeps the rest as a tail", () => {
    const acc = new PartAccumulator(10);
    const parts = [...acc.push(seq(3)), ...acc.push(seq(14, 3)), ...acc.push(seq(9, 17))];
    expect(parts.map((p) => p.length)).toEqual([10, 10]);
    expect(parts.flatMap((p) => [...p])).toEqual([...seq(20)]);
    expect(acc.pending).toBe(6);
    expect([...acc.drain()]).toEqual([...seq(6, 20)]);
    expect(acc.pending).toBe(0);
  });

  it("resumes from a stored tail", () => {
    const acc = new PartAccumulator(4, seq(3));
    const parts = acc.push(seq(2, 3));
    expect(parts.map((p) => [...p])).toEqual([[0, 1, 2, 3]]);
    expect([...acc.drain()]).toEqual([4]);
  });

  it("refuses a tail as large as a part", () => {
    expect(() => new PartAccumulator(4, seq(4))).toThrow();
  });
});

describe("PartAccumulator.recycle", () => {
  it("fills a recycled part again instead of a new one, and keeps the bytes right", () => {
    const acc = new PartAccumulator(4);
    const [first] = acc.push(seq(4));
    expect([...(first ?? [])]).toEqual([0, 1, 2, 3]);
    acc.recycle(first as Uint8Array);
    const [second] = acc.push(seq(5, 4));
    expect(second?.buffer).not.toBe(first?.buffer); // the buffer being filled when `first` came back
    acc.recycle(second as Uint8Array);
    const [third] = acc.push(seq(3, 9));
    expect(third?.buffer).toBe(first?.buffer);
    expect([...(third ?? [])]).toEqual([8, 9, 10, 11]);
  });

  it("ignores a part it could not fill again (the short last part, or one given twice)", () => {
    const acc = new PartAccumulator(4);
    const [part] = acc.push(seq(4));
    acc.recycle(part as Uint8Array);
    acc.recycle(part as Uint8Array);
    acc.recycle(new Uint8Array(2));
    const made = [...acc.push(seq(4)), ...acc.push(seq(4)), ...acc.push(seq(4))];
    expect(new Set(made.map((p) => p.buffer)).size).toBe(3);
  });
});

describe("PartAccumulator with a shared pool", () => {
  it("gives its last buffer back on release, for the next accumulator to fill", () => {
    const pool = new BufferPool(4, 2);
    const first = new PartAccumulator(4, undefined, pool);
    const [part] = first.push(seq(6));
    first.recycle(part as Uint8Array);
    expect([...first.drain()]).toEqual([4, 5]);
    first.release();
    expect(pool.idle).toBe(2);
    const next = new PartAccumulator(4, seq(1, 50), pool);
    expect(pool.idle).toBe(1); // its buffer came from the pool
    const [again] = next.push(seq(3, 51));
    expect(again?.buffer === part?.buffer || pool.idle === 0).toBe(true);
    expect([...(again ?? [])]).toEqual([50, 51, 52, 53]);
    expect(pool.idle).toBe(0);
  });
});
