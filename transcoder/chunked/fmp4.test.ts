import { describe, expect, it } from "vitest";
import { findBoxes, placeMediaSegment, readBoxes, readMediaSegment } from "./fmp4.ts";

const u32 = (n: number) => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n);
  return b;
};
const u64 = (n: number) => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n));
  return b;
};
const u16 = (n: number) => new Uint8Array([n >> 8, n & 0xff]);
const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
};
const box = (type: string, ...payload: Uint8Array[]) => {
  const body = concat(...payload);
  return concat(u32(8 + body.byteLength), new TextEncoder().encode(type), body);
};
/** version (1 byte) + flags (3 bytes) */
const full = (version: number, flags: number) => u32((version << 24) | flags);

/** A media segment shaped like ffmpeg's: styp, sidx (v1), moof (mfhd, traf: tfhd, tfdt, trun), mdat. */
function segment(options: { tfdtVersion: 0 | 1; decodeTime: number; sequence: number }) {
  const samples = [
    { size: 5, flags: 0x02000000, cts: 1024 },
    { size: 3, flags: 0x01010000, cts: 1536 },
    { size: 4, flags: 0x01010000, cts: 512 },
  ];
  const tfhd = box("tfhd", full(0, 0x020038), u32(1), u32(512), u32(4), u32(0x01010000));
  const tfdt = box(
    "tfdt",
    full(options.tfdtVersion, 0),
    options.tfdtVersion === 1 ? u64(options.decodeTime) : u32(options.decodeTime),
  );
  const trun = box(
    "trun",
    full(0, 0xe01),
    u32(samples.length),
    u32(0),
    ...samples.flatMap((s) => [u32(s.size), u32(s.flags), u32(s.cts)]),
  );
  const moof = box("moof", box("mfhd", full(0, 0), u32(options.sequence)), box("traf", tfhd, tfdt, trun));
  const mdat = box("mdat", new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]));
  const sidx = box(
    "sidx",
    full(1, 0),
    u32(1),
    u32(15360),
    u64(options.decodeTime),
    u64(0),
    u16(0),
    u16(1),
    u32(moof.byteLength + mdat.byteLength),
    u32(1536),
    u32(0x90000000),
  );
  return concat(box("styp", new TextEncoder().encode("msdh"), u32(0)), sidx, moof, mdat);
}

describe("readMediaSegment", () => {
  it("reads the sequence number, decode time, sample count, duration and first composition offset", () => {
    const info = readMediaSegment(segment({ tfdtVersion: 1, decodeTime: 61_440, sequence: 2 }));
    expect(info).toEqual({
      sequenceNumber: 2,
      baseMediaDecodeTime: 61_440,
      sampleCount: 3,
      duration: 1536,
      firstCompositionOffset: 1024,
      fragmentDecodeTimes: [61_440],
    });
  });

  it("refuses bytes that are not a media segment", () => {
    expect(() => readMediaSegment(box("ftyp", new Uint8Array(8)))).toThrow(/no moof/);
    expect(() => readBoxes(new Uint8Array([0, 0, 0, 99, 0x6d, 0x6f, 0x6f, 0x66]))).toThrow(/malformed/);
  });
});

describe("placeMediaSegment", () => {
  it("moves a segment in time and renumbers it, leaving sizes and sample data alone", () => {
    const original = segment({ tfdtVersion: 1, decodeTime: 0, sequence: 1 });
    const placed = placeMediaSegment(original, { sequenceNumber: 16, decodeTimeOffset: 921_600 });
    expect(placed.byteLength).toBe(original.byteLength);
    expect(readMediaSegment(placed)).toMatchObject({
      sequenceNumber: 16,
      baseMediaDecodeTime: 921_600,
      sampleCount: 3,
    });
    const sidx = findBoxes(placed, ["sidx"])[0];
    if (!sidx) throw new Error("no sidx");
    expect(new DataView(placed.buffer).getBigUint64(sidx.body + 12)).toBe(921_600n);
    const mdat = (bytes: Uint8Array) => {
      const b = findBoxes(bytes, ["mdat"])[0];
      return b ? Array.from(bytes.subarray(b.body, b.end)) : [];
    };
    expect(mdat(placed)).toEqual(mdat(original));
    // the input is not modified
    expect(readMediaSegment(original).baseMediaDecodeTime).toBe(0);
  });

  it("moves 32-bit decode times while they fit, and refuses to overflow them", () => {
    const small = segment({ tfdtVersion: 0, decodeTime: 1000, sequence: 1 });
    expect(
      readMediaSegment(placeMediaSegment(small, { sequenceNumber: 2, decodeTimeOffset: 5000 })).baseMediaDecodeTime,
    ).toBe(6000);
    expect(() => placeMediaSegment(small, { sequenceNumber: 2, decodeTimeOffset: 2 ** 32 })).toThrow(RangeError);
  });
});
