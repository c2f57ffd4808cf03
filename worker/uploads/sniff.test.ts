import { describe, expect, it } from "vitest";
import { checkDeclaredType, isAcceptableDeclaredType, SNIFF_BYTES } from "./sniff";

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
const mov = bytes([0, 0, 0, 0x14], "ftypqt  ", [0, 0, 2, 0], "qt  ");
const m2ts = new Uint8Array(SNIFF_BYTES).fill(0xff);
m2ts[4] = m2ts[196] = m2ts[388] = 0x47;
const flv = bytes("FLV", [1, 5, 0, 0, 0, 9]);

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

  it("accepts camera files: MOV as video/quicktime, M2TS as video/mp2t or as Windows names it", () => {
    expect(checkDeclaredType("video/quicktime", mov)).toEqual({ ok: true, family: "mp4" });
    expect(checkDeclaredType("video/mp2t", m2ts)).toEqual({ ok: true, family: "mpegts" });
    expect(checkDeclaredType("video/vnd.dlna.mpeg-tts", m2ts)).toEqual({ ok: true, family: "mpegts" });
    expect(isAcceptableDeclaredType("video/vnd.dlna.mpeg-tts")).toBe(true);
  });

  it("names a known container that is not accepted instead of calling it not a video", () => {
    const result = checkDeclaredType("application/octet-stream", flv);
    expect(result).toMatchObject({ ok: false, declaredUnknown: false });
    expect(!result.ok && result.message).toBe(
      "The file is FLV, which is not an accepted container (MP4/MOV, Matroska/WebM, AVI or MPEG-TS)",
    );
  });
});
