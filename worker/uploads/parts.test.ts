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
