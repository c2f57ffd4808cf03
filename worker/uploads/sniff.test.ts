import { describe, expect, it } from "vitest";
import { checkDeclaredType, SNIFF_BYTES, sniffContainer } from "./sniff";

const bytes = (...parts: (string | number[])[]) => {
  const out: number[] = [];
  for (const p of parts) out.push(...(typeof p === "string" ? [...p].map((c) => c.charCodeAt(0)) : p));
  return new Uint8Array(out);
};

const mp4 = bytes([0, 0, 0, 0x20], "ftypisom", [0, 0, 2, 0]);
const webm = bytes([0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x86, 0x81]);
const avi = bytes("RIFF", [0, 0, 0, 0], "AVI LIST");
const ts = new Uint8Array(SNIFF_BYTES).fill(0xff);
ts[0] = ts[188] = ts[376] = 0x47;
const text = bytes("this is plain text pretending to be an mp4\n");

describe("sniffContainer", () => {
  it.each([
    [mp4, "mp4"],
    [webm, "matroska"],
    [avi, "avi"],
    [ts, "mpegts"],
    [text, null],
    [new Uint8Array(0), null],
  ])("recognises %#", (head, family) => {
    expect(sniffContainer(head)).toBe(family);
  });
});

describe("checkDeclaredType", () => {
  it("accepts a type that agrees with the bytes", () => {
    expect(checkDeclaredType("video/mp4", mp4)).toEqual({ ok: true, family: "mp4" });
    expect(checkDeclaredType("video/webm", webm)).toEqual({ ok: true, family: "matroska" });
  });

  it("lets the bytes decide when the type says nothing", () => {
    expect(checkDeclaredType("application/octet-stream", avi)).toEqual({ ok: true, family: "avi" });
    expect(checkDeclaredType(undefined, ts)).toEqual({ ok: true, family: "mpegts" });
  });

  it("refuses a text file named like a video, with a clear message", () => {
    const result = checkDeclaredType("video/mp4", text);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.message).toMatch(/not a video/);
  });

  it("refuses bytes of another container than declared", () => {
    const result = checkDeclaredType("video/mp4", webm);
    expect(!result.ok && result.message).toMatch(/declared as video\/mp4 but its bytes are MATROSKA/);
  });

  it("refuses a type outside the allow-list", () => {
    const result = checkDeclaredType("image/png", mp4);
    expect(result).toMatchObject({ ok: false, declaredUnknown: true });
  });
});
