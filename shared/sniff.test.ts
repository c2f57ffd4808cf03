/** Runs in both test projects: inside workerd (the Worker) and in Node (the transcoder). */
import { describe, expect, it } from "vitest";
import { type ContainerFamily, SNIFF_BYTES, sniffContainer } from "./sniff.ts";

const bytes = (...parts: (string | number[])[]) =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === "string" ? [...p].map((c) => c.charCodeAt(0)) : p)));

/** An `ftyp` box of `size` bytes with this major brand, as MP4, MOV, M4V and 3GP files start. */
const ftyp = (brand: string, size = 0x20) => bytes([0, 0, 0, size], "ftyp", brand, [0, 0, 2, 0], "isommp41");

/** `count` transport stream packets of `packet` bytes, the sync byte at `syncAt` in each. */
const transportStream = (packet: number, syncAt: number, count = 3) => {
  const out = new Uint8Array(packet * count).fill(0xff);
  for (let n = 0; n < count; n++) out[n * packet + syncAt] = 0x47;
  return out;
};

const familyOf = (head: Uint8Array) => sniffContainer(head)?.family ?? null;

describe("sniffContainer: the accepted containers", () => {
  it.each<[string, Uint8Array, ContainerFamily]>([
    ["MP4 (isom)", ftyp("isom"), "mp4"],
    ["MP4 (mp42)", ftyp("mp42"), "mp4"],
    ["MOV (qt)", ftyp("qt  "), "mp4"],
    ["3GP (3gp5)", ftyp("3gp5"), "mp4"],
    ["3GPP2 (3g2a)", ftyp("3g2a"), "mp4"],
    ["M4V", ftyp("M4V "), "mp4"],
    ["old QuickTime, moov first", bytes([0, 0, 0x10, 0], "moov", [0, 0, 0, 0x6c], "mvhd"), "mp4"],
    ["old QuickTime, wide then mdat", bytes([0, 0, 0, 8], "wide", [0, 0, 0, 0], "mdat"), "mp4"],
    ["mdat with a 64-bit size", bytes([0, 0, 0, 1], "mdat", [0, 0, 0, 0, 0, 0, 0x10, 0]), "mp4"],
    ["WebM", bytes([0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x86, 0x81]), "matroska"],
    ["AVI", bytes("RIFF", [0, 0, 0, 0], "AVI LIST"), "avi"],
    ["MPEG-TS (188-byte packets)", transportStream(188, 0), "mpegts"],
    ["M2TS (192-byte packets, timestamp first)", transportStream(192, 4), "mpegts"],
  ])("recognises %s", (_, head, family) => {
    expect(sniffContainer(head)).toMatchObject({ family, accepted: true });
  });

  it("names each for messages", () => {
    expect(sniffContainer(ftyp("isom"))?.label).toBe("MP4/QuickTime");
    expect(sniffContainer(ftyp("qt  "))?.label).toBe("MP4/QuickTime");
    expect(sniffContainer(bytes([0x1a, 0x45, 0xdf, 0xa3, 0, 0]))?.label).toBe("Matroska/WebM");
    expect(sniffContainer(bytes("RIFF", [0, 0, 0, 0], "AVI LIST"))?.label).toBe("AVI");
    expect(sniffContainer(transportStream(188, 0))?.label).toBe("MPEG-TS");
  });

  it("needs no more than SNIFF_BYTES for any of them", () => {
    const m2ts = transportStream(192, 4);
    expect(SNIFF_BYTES).toBeLessThan(m2ts.length);
    expect(familyOf(m2ts.subarray(0, SNIFF_BYTES))).toBe("mpegts");
    expect(familyOf(m2ts.subarray(0, SNIFF_BYTES - 1))).toBeNull();
  });
});

describe("sniffContainer: media that is not accepted", () => {
  it.each<[string, Uint8Array, ContainerFamily, string]>([
    ["MPEG program stream (.mpg, .vob)", bytes([0, 0, 1, 0xba, 0x44, 0, 4, 0]), "mpegps", "MPEG-PS"],
    ["FLV", bytes("FLV", [1, 5, 0, 0, 0, 9]), "flv", "FLV"],
    ["Ogg", bytes("OggS", [0, 2, 0, 0]), "ogg", "Ogg"],
    [
      "ASF (WMV)",
      bytes([0x30, 0x26, 0xb2, 0x75, 0x8e, 0x66, 0xcf, 0x11, 0xa6, 0xd9, 0x00, 0xaa, 0x00, 0x62, 0xce, 0x6c]),
      "asf",
      "ASF/WMV",
    ],
  ])("recognises %s, marked not accepted", (_, head, family, label) => {
    expect(sniffContainer(head)).toEqual({ family, label, accepted: false });
  });
});

describe("sniffContainer: not media", () => {
  it.each<[string, Uint8Array]>([
    ["plain text", bytes("this is plain text pretending to be an mp4\n")],
    ["nothing", new Uint8Array(0)],
    ["text with ftyp at offset 4", bytes("this", "ftyp", "isom is not a box, just words")],
    ["an ftyp box too small for its brands", ftyp("isom", 12)],
    ["an ftyp brand that is not text", bytes([0, 0, 0, 0x20], "ftyp", [0, 1, 2, 3], [0, 0, 0, 0])],
    ["a leading box with an impossible size", bytes([0, 0, 0, 4], "moov", [0, 0, 0, 0])],
    ["two sync bytes only", transportStream(188, 0, 2)],
    ["sync bytes at neither packet size", transportStream(190, 0)],
    ["a PNG image", bytes([0x89], "PNG", [0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d], "IHDR")],
  ])("finds nothing in %s", (_, head) => {
    expect(sniffContainer(head)).toBeNull();
  });
});
