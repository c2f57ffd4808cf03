import { describe, expect, it } from "vitest";
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
    expect(second).not.toBe(first); // the buffer being filled when `first` came back
    acc.recycle(second as Uint8Array);
    const [third] = acc.push(seq(3, 9));
    expect(third).toBe(first);
    expect([...(third ?? [])]).toEqual([8, 9, 10, 11]);
  });

  it("ignores a part it could not fill again (the short last part, or one given twice)", () => {
    const acc = new PartAccumulator(4);
    const [part] = acc.push(seq(4));
    acc.recycle(part as Uint8Array);
    acc.recycle(part as Uint8Array);
    acc.recycle(new Uint8Array(2));
    const made = [...acc.push(seq(4)), ...acc.push(seq(4)), ...acc.push(seq(4))];
    expect(new Set(made).size).toBe(3);
  });
});
