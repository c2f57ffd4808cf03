import { describe, expect, it } from "vitest";
import { parseRange } from "./range";

describe("parseRange", () => {
  it.each([
    ["bytes=0-99", { kind: "range", offset: 0, length: 100 }],
    ["bytes=100-", { kind: "range", offset: 100, length: 900 }],
    ["bytes=-100", { kind: "range", offset: 900, length: 100 }],
    ["bytes=900-5000", { kind: "range", offset: 900, length: 100 }],
    ["bytes=-5000", { kind: "range", offset: 0, length: 1000 }],
    ["bytes=1000-", { kind: "unsatisfiable" }],
    ["bytes=-0", { kind: "unsatisfiable" }],
    ["bytes=5-1", { kind: "none" }],
    ["bytes=-", { kind: "none" }],
    ["bytes=a-b", { kind: "none" }],
    ["bytes=0-1,5-9", { kind: "none" }],
    ["items=0-1", { kind: "none" }],
    [null, { kind: "none" }],
  ])("%j of 1000 bytes → %j", (header, expected) => {
    expect(parseRange(header, 1000)).toEqual(expected);
  });
});
