/**
 * Which media container a file is, from its first bytes (magic numbers). One list for both sides:
 * the Worker refuses what is plainly not an accepted video before anything is stored, and the
 * transcoder tells a damaged video from a file that is not media at all when ffprobe cannot open
 * it. ffprobe has the last word on everything this accepts.
 *
 * Formats that are recognised but not `accepted` are refused at upload with their name, and named
 * in the transcoder's message if one arrives by another way.
 */

export type ContainerFamily = "mp4" | "matroska" | "avi" | "mpegts" | "mpegps" | "flv" | "ogg" | "asf";

export interface ContainerFormat {
  family: ContainerFamily;
  /** The name people know it by, for messages. */
  label: string;
  /** Whether uploads in it are taken (the platform's accepted containers). */
  accepted: boolean;
}

/** Bytes needed to recognise every format: three packets of M2TS (192 bytes each, sync byte at 4). */
export const SNIFF_BYTES = 4 + 192 * 2 + 1;

const ascii = (head: Uint8Array, at: number, length: number) => String.fromCharCode(...head.subarray(at, at + length));

const startsWith = (head: Uint8Array, magic: readonly number[]) =>
  head.length >= magic.length && magic.every((byte, i) => head[i] === byte);

const uint32 = (head: Uint8Array, at: number) =>
  new DataView(head.buffer, head.byteOffset, head.byteLength).getUint32(at);

/** Top-level boxes a QuickTime or ISO BMFF file starts with (old QuickTime files have no `ftyp`). */
const LEADING_BOXES = new Set(["moov", "mdat", "free", "skip", "wide", "pnot"]);

/**
 * MP4, MOV, M4V, 3GP: an `ftyp` box whose size fits a brand list and whose major brand is four
 * printable characters (`isom`, `mp42`, `qt  `, `3gp5`, `M4V `, …), or another leading box with a
 * possible size (0: to the end of the file, 1: a 64-bit size follows, else at least its header).
 */
function isIsoMedia(head: Uint8Array): boolean {
  if (head.length < 8) return false;
  const size = uint32(head, 0);
  const type = ascii(head, 4, 4);
  if (type === "ftyp") {
    if (head.length < 12 || size < 16 || size > 4096) return false;
    return head.subarray(8, 12).every((c) => c >= 0x20 && c <= 0x7e);
  }
  return LEADING_BOXES.has(type) && (size === 0 || size === 1 || size >= 8);
}

/** Three sync bytes (0x47) one packet apart: 188-byte TS packets, or 192 (M2TS: a 4-byte timestamp first). */
const isTransportStream = (head: Uint8Array) =>
  [
    { offset: 0, packet: 188 },
    { offset: 4, packet: 192 },
  ].some(
    ({ offset, packet }) =>
      head.length > offset + 2 * packet && [0, 1, 2].every((n) => head[offset + n * packet] === 0x47),
  );

/** ASF's header object GUID (WMV, WMA). */
const ASF_HEADER = [0x30, 0x26, 0xb2, 0x75, 0x8e, 0x66, 0xcf, 0x11, 0xa6, 0xd9, 0x00, 0xaa, 0x00, 0x62, 0xce, 0x6c];

/** Every format known, in the order they are tried. */
const FORMATS: readonly (ContainerFormat & { matches: (head: Uint8Array) => boolean })[] = [
  { family: "mp4", label: "MP4/QuickTime", accepted: true, matches: isIsoMedia },
  {
    family: "matroska",
    label: "Matroska/WebM",
    accepted: true,
    matches: (h) => startsWith(h, [0x1a, 0x45, 0xdf, 0xa3]),
  },
  {
    family: "avi",
    label: "AVI",
    accepted: true,
    matches: (h) => ascii(h, 0, 4) === "RIFF" && ascii(h, 8, 4) === "AVI ",
  },
  { family: "mpegts", label: "MPEG-TS", accepted: true, matches: isTransportStream },
  { family: "mpegps", label: "MPEG-PS", accepted: false, matches: (h) => startsWith(h, [0x00, 0x00, 0x01, 0xba]) },
  { family: "flv", label: "FLV", accepted: false, matches: (h) => ascii(h, 0, 3) === "FLV" },
  { family: "ogg", label: "Ogg", accepted: false, matches: (h) => ascii(h, 0, 4) === "OggS" },
  { family: "asf", label: "ASF/WMV", accepted: false, matches: (h) => startsWith(h, ASF_HEADER) },
];

/** What the accepted formats are called, for messages. */
export const ACCEPTED_CONTAINERS_TEXT = "MP4/MOV, Matroska/WebM, AVI or MPEG-TS";

/** The container the first bytes of a file announce, or null when nothing media-like is there. */
export function sniffContainer(head: Uint8Array): ContainerFormat | null {
  const format = FORMATS.find((f) => f.matches(head));
  return format ? { family: format.family, label: format.label, accepted: format.accepted } : null;
}
