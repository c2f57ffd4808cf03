/**
 * Container detection from the first bytes of an upload (magic numbers), and the declared types
 * each container may arrive as. ffprobe has the last word later; this refuses the obvious
 * mistakes (a renamed text file) before anything is stored.
 */
export type ContainerFamily = "mp4" | "matroska" | "avi" | "mpegts";

/** Bytes needed to recognise every family (MPEG-TS needs three 188-byte packets). */
export const SNIFF_BYTES = 188 * 2 + 1;

const ascii = (bytes: Uint8Array, at: number, len: number) => String.fromCharCode(...bytes.subarray(at, at + len));

const MP4_BOXES = new Set(["ftyp", "moov", "mdat", "free", "wide", "skip", "pnot"]);

export function sniffContainer(head: Uint8Array): ContainerFamily | null {
  if (head.length >= 8 && MP4_BOXES.has(ascii(head, 4, 4))) return "mp4";
  if (head.length >= 4 && head[0] === 0x1a && head[1] === 0x45 && head[2] === 0xdf && head[3] === 0xa3) {
    return "matroska";
  }
  if (head.length >= 12 && ascii(head, 0, 4) === "RIFF" && ascii(head, 8, 4) === "AVI ") return "avi";
  if (head.length >= SNIFF_BYTES && head[0] === 0x47 && head[188] === 0x47 && head[376] === 0x47) return "mpegts";
  return null;
}

/** Declared media types, by the container they announce. */
export const DECLARED_TYPES: Record<string, ContainerFamily> = {
  "video/mp4": "mp4",
  "video/quicktime": "mp4",
  "video/x-m4v": "mp4",
  "video/3gpp": "mp4",
  "video/webm": "matroska",
  "video/x-matroska": "matroska",
  "video/matroska": "matroska",
  "video/avi": "avi",
  "video/x-msvideo": "avi",
  "video/msvideo": "avi",
  "video/mp2t": "mpegts",
  "video/mpeg": "mpegts",
};

/** Types that say nothing about the content: the bytes decide. */
const UNSPECIFIC = new Set(["", "application/octet-stream", "binary/octet-stream"]);

export const ACCEPTED_TYPES_TEXT = "MP4/MOV, Matroska/WebM, AVI or MPEG-TS";

export type TypeCheck =
  | { ok: true; family: ContainerFamily }
  | { ok: false; message: string; declaredUnknown: boolean };

/** Checks a declared type (may be empty) against what the bytes are. */
export function checkDeclaredType(declared: string | null | undefined, head: Uint8Array): TypeCheck {
  const type = (declared ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
  const declaredFamily = DECLARED_TYPES[type];
  if (!UNSPECIFIC.has(type) && !declaredFamily) {
    return {
      ok: false,
      declaredUnknown: true,
      message: `${type} is not an accepted video type (${ACCEPTED_TYPES_TEXT})`,
    };
  }
  const sniffed = sniffContainer(head);
  if (!sniffed) {
    return {
      ok: false,
      declaredUnknown: false,
      message: `The file is not a video: its first bytes match no ${ACCEPTED_TYPES_TEXT} container`,
    };
  }
  if (declaredFamily && declaredFamily !== sniffed) {
    return {
      ok: false,
      declaredUnknown: false,
      message: `The file was declared as ${type} but its bytes are ${sniffed.toUpperCase()}`,
    };
  }
  return { ok: true, family: sniffed };
}

/** Whether a declared type (before any byte arrives) can be accepted. */
export function isAcceptableDeclaredType(declared: string | null | undefined): boolean {
  const type = (declared ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
  return UNSPECIFIC.has(type) || type in DECLARED_TYPES;
}
