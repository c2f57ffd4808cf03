/**
 * The declared types each accepted container may arrive as, checked against what the first bytes
 * of an upload are (the shared sniffer, shared/sniff.ts). ffprobe has the last word later; this
 * refuses the obvious mistakes (a renamed text file) before anything is stored.
 */
import { ACCEPTED_CONTAINERS_TEXT, type ContainerFamily, sniffContainer } from "../../shared/sniff";

export { ACCEPTED_CONTAINERS_TEXT as ACCEPTED_TYPES_TEXT, SNIFF_BYTES } from "../../shared/sniff";

/** Declared media types, by the container they announce. */
export const DECLARED_TYPES: Record<string, ContainerFamily> = {
  "video/mp4": "mp4",
  "video/quicktime": "mp4",
  "video/x-m4v": "mp4",
  "video/3gpp": "mp4",
  "video/3gpp2": "mp4",
  "video/webm": "matroska",
  "video/x-matroska": "matroska",
  "video/matroska": "matroska",
  "video/avi": "avi",
  "video/x-msvideo": "avi",
  "video/msvideo": "avi",
  "video/mp2t": "mpegts",
  "video/mpeg": "mpegts",
  // What Windows (and so browsers there) call .m2ts and .mts files from cameras.
  "video/vnd.dlna.mpeg-tts": "mpegts",
};

/** Types that say nothing about the content: the bytes decide. */
const UNSPECIFIC = new Set(["", "application/octet-stream", "binary/octet-stream"]);

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
      message: `${type} is not an accepted video type (${ACCEPTED_CONTAINERS_TEXT})`,
    };
  }
  const sniffed = sniffContainer(head);
  if (!sniffed) {
    return {
      ok: false,
      declaredUnknown: false,
      message: `The file is not a video: its first bytes match no ${ACCEPTED_CONTAINERS_TEXT} container`,
    };
  }
  if (!sniffed.accepted) {
    return {
      ok: false,
      declaredUnknown: false,
      message: `The file is ${sniffed.label}, which is not an accepted container (${ACCEPTED_CONTAINERS_TEXT})`,
    };
  }
  if (declaredFamily && declaredFamily !== sniffed.family) {
    return {
      ok: false,
      declaredUnknown: false,
      message: `The file was declared as ${type} but its bytes are ${sniffed.family.toUpperCase()}`,
    };
  }
  return { ok: true, family: sniffed.family };
}

/** Whether a declared type (before any byte arrives) can be accepted. */
export function isAcceptableDeclaredType(declared: string | null | undefined): boolean {
  const type = (declared ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
  return UNSPECIFIC.has(type) || type in DECLARED_TYPES;
}
