/**
 * Just enough ISO BMFF (fragmented MP4) to read what ffmpeg's dash and hls muxers write and to
 * move a media segment to its place in a longer timeline. Pure functions over bytes.
 *
 * A chunk is encoded with timestamps that start at zero, so its segments say 1, 2, … and start
 * their decode timeline at 0. {@link placeMediaSegment} sets the fragment sequence number (`mfhd`)
 * and adds a constant to every decode time (`tfdt`) and to the segment index's earliest
 * presentation time (`sidx`). Those fields are fixed-size and patched in place: no sizes or
 * offsets change, so the sample data is untouched.
 */

export interface Box {
  type: string;
  /** Offset of the box header. */
  start: number;
  /** Offset of the payload (after size, type and any 64-bit size). */
  body: number;
  /** Offset just past the box. */
  end: number;
}

const CONTAINERS = new Set(["moov", "trak", "mdia", "minf", "stbl", "mvex", "moof", "traf", "edts", "dinf"]);

/** The boxes directly inside [from, to). */
export function readBoxes(bytes: Uint8Array, from = 0, to = bytes.byteLength): Box[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const boxes: Box[] = [];
  let at = from;
  while (at + 8 <= to) {
    let size = view.getUint32(at);
    const type = String.fromCharCode(bytes[at + 4] ?? 0, bytes[at + 5] ?? 0, bytes[at + 6] ?? 0, bytes[at + 7] ?? 0);
    let header = 8;
    if (size === 1) {
      size = Number(view.getBigUint64(at + 8));
      header = 16;
    } else if (size === 0) {
      size = to - at;
    }
    if (size < header || at + size > to) throw new Error(`malformed ${type} box at ${at}`);
    boxes.push({ type, start: at, body: at + header, end: at + size });
    at += size;
  }
  return boxes;
}

/** Every box under [from, to) along a path of types, e.g. ["moof", "traf", "tfdt"]. */
export function findBoxes(bytes: Uint8Array, path: string[], from = 0, to = bytes.byteLength): Box[] {
  const [head, ...rest] = path;
  const found: Box[] = [];
  for (const box of readBoxes(bytes, from, to)) {
    if (box.type !== head) continue;
    if (rest.length === 0) found.push(box);
    else if (CONTAINERS.has(box.type)) found.push(...findBoxes(bytes, rest, box.body, box.end));
  }
  return found;
}

const viewOf = (bytes: Uint8Array) => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
const fourCC = (bytes: Uint8Array, at: number) =>
  String.fromCharCode(bytes[at] ?? 0, bytes[at + 1] ?? 0, bytes[at + 2] ?? 0, bytes[at + 3] ?? 0);

export interface MediaSegmentInfo {
  /** `mfhd` sequence number of the first fragment. */
  sequenceNumber: number;
  /** `tfdt` of the first fragment, in the track's timescale. */
  baseMediaDecodeTime: number;
  sampleCount: number;
  /** Sum of the sample durations. */
  duration: number;
  /** Composition offset of the first sample (0 when the `trun` carries none). */
  firstCompositionOffset: number;
  /** Decode times of every fragment in the segment, in order. */
  fragmentDecodeTimes: number[];
}

/** Reads the fragments of one media segment (one track). */
export function readMediaSegment(bytes: Uint8Array, defaults: { sampleDuration?: number } = {}): MediaSegmentInfo {
  const view = viewOf(bytes);
  const moofs = findBoxes(bytes, ["moof"]);
  if (moofs.length === 0) throw new Error("not a media segment: no moof box");
  let sequenceNumber = 0;
  let sampleCount = 0;
  let duration = 0;
  let firstCompositionOffset: number | null = null;
  const fragmentDecodeTimes: number[] = [];
  for (const [i, moof] of moofs.entries()) {
    const mfhd = findBoxes(bytes, ["mfhd"], moof.body, moof.end)[0];
    if (i === 0 && mfhd) sequenceNumber = view.getUint32(mfhd.body + 4);
    for (const traf of findBoxes(bytes, ["traf"], moof.body, moof.end)) {
      const tfhd = findBoxes(bytes, ["tfhd"], traf.body, traf.end)[0];
      const tfdt = findBoxes(bytes, ["tfdt"], traf.body, traf.end)[0];
      if (!tfhd || !tfdt) throw new Error("traf without tfhd or tfdt");
      fragmentDecodeTimes.push(
        bytes[tfdt.body] === 1 ? Number(view.getBigUint64(tfdt.body + 4)) : view.getUint32(tfdt.body + 4),
      );
      const tfhdFlags = view.getUint32(tfhd.body) & 0xffffff;
      let at = tfhd.body + 8;
      if (tfhdFlags & 0x1) at += 8;
      if (tfhdFlags & 0x2) at += 4;
      const defaultDuration = tfhdFlags & 0x8 ? view.getUint32(at) : (defaults.sampleDuration ?? 0);
      for (const trun of findBoxes(bytes, ["trun"], traf.body, traf.end)) {
        const version = bytes[trun.body] ?? 0;
        const flags = view.getUint32(trun.body) & 0xffffff;
        const count = view.getUint32(trun.body + 4);
        let p = trun.body + 8;
        if (flags & 0x1) p += 4;
        if (flags & 0x4) p += 4;
        for (let s = 0; s < count; s++) {
          let sampleDuration = defaultDuration;
          if (flags & 0x100) {
            sampleDuration = view.getUint32(p);
            p += 4;
          }
          if (flags & 0x200) p += 4;
          if (flags & 0x400) p += 4;
          let cts = 0;
          if (flags & 0x800) {
            cts = version === 1 ? view.getInt32(p) : view.getUint32(p);
            p += 4;
          }
          firstCompositionOffset ??= cts;
          duration += sampleDuration;
        }
        sampleCount += count;
      }
    }
  }
  return {
    sequenceNumber,
    baseMediaDecodeTime: fragmentDecodeTimes[0] ?? 0,
    sampleCount,
    duration,
    firstCompositionOffset: firstCompositionOffset ?? 0,
    fragmentDecodeTimes,
  };
}

/**
 * A copy of a media segment placed in a longer timeline: `mfhd` sequence numbers become
 * `sequenceNumber` (and up, one per fragment) and `decodeTimeOffset` is added to every `tfdt`
 * and to the `sidx` earliest presentation time.
 */
export function placeMediaSegment(
  bytes: Uint8Array,
  placement: { sequenceNumber: number; decodeTimeOffset: number },
): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(bytes);
  const view = viewOf(out);
  const offset = BigInt(placement.decodeTimeOffset);
  let sequence = placement.sequenceNumber;
  for (const box of readBoxes(out)) {
    if (box.type === "sidx") {
      // version(1) flags(3) reference_ID(4) timescale(4) earliest_presentation_time(4|8)
      const at = box.body + 12;
      if (out[box.body] === 1) view.setBigUint64(at, view.getBigUint64(at) + offset);
      else view.setUint32(at, checked32(BigInt(view.getUint32(at)) + offset, "sidx"));
    } else if (box.type === "moof") {
      for (const mfhd of findBoxes(out, ["mfhd"], box.body, box.end)) view.setUint32(mfhd.body + 4, sequence);
      sequence++;
      for (const tfdt of findBoxes(out, ["traf", "tfdt"], box.body, box.end)) {
        const at = tfdt.body + 4;
        if (out[tfdt.body] === 1) view.setBigUint64(at, view.getBigUint64(at) + offset);
        else view.setUint32(at, checked32(BigInt(view.getUint32(at)) + offset, "tfdt"));
      }
    }
  }
  return out;
}

function checked32(value: bigint, box: string): number {
  if (value < 0n || value > 0xffffffffn) throw new RangeError(`${box} time ${value} does not fit a version 0 box`);
  return Number(value);
}

export interface InitSegmentInfo {
  handler: "vide" | "soun" | string;
  /** Media timescale (`mdhd`). */
  timescale: number;
  /** Media time where presentation starts (the first real `elst` edit's media_time; 0 without one). */
  editMediaTime: number;
  /** How long empty edits delay the presentation, in the media timescale (0 when none). */
  presentationDelay: number;
  /** RFC 6381 codecs string: "avc1.64001f", "mp4a.40.2". */
  codecs: string;
  width: number | null;
  height: number | null;
  /** Pixel aspect ratio from `pasp`, "1:1" without one; null for audio. */
  sar: string | null;
  sampleRate: number | null;
  channels: number | null;
}

/** Reads the one track of an initialization segment. */
export function readInitSegment(bytes: Uint8Array): InitSegmentInfo {
  const view = viewOf(bytes);
  const trak = findBoxes(bytes, ["moov", "trak"])[0];
  if (!trak) throw new Error("not an initialization segment: no moov/trak");
  const within = (path: string[]) => findBoxes(bytes, path, trak.body, trak.end)[0];
  const mdhd = within(["mdia", "mdhd"]);
  const hdlr = within(["mdia", "hdlr"]);
  const stsd = within(["mdia", "minf", "stbl", "stsd"]);
  if (!mdhd || !hdlr || !stsd) throw new Error("track without mdhd, hdlr or stsd");
  const timescale = bytes[mdhd.body] === 1 ? view.getUint32(mdhd.body + 20) : view.getUint32(mdhd.body + 12);
  const handler = fourCC(bytes, hdlr.body + 8);

  // Edit list: leading empty edits (media_time -1, durations in the movie's timescale) delay the
  // presentation; the first real edit says where in the media it starts.
  let editMediaTime = 0;
  let emptyEditDuration = 0;
  const mvhd = findBoxes(bytes, ["moov", "mvhd"])[0];
  const movieTimescale = mvhd ? view.getUint32(mvhd.body + (bytes[mvhd.body] === 1 ? 20 : 12)) : timescale;
  const elst = within(["edts", "elst"]);
  if (elst) {
    const version = bytes[elst.body];
    const entries = view.getUint32(elst.body + 4);
    for (let i = 0, at = elst.body + 8; i < entries; i++, at += version === 1 ? 20 : 12) {
      const duration = version === 1 ? Number(view.getBigUint64(at)) : view.getUint32(at);
      const mediaTime = version === 1 ? Number(view.getBigInt64(at + 8)) : view.getInt32(at + 4);
      if (mediaTime === -1) {
        emptyEditDuration += duration;
        continue;
      }
      editMediaTime = mediaTime;
      break;
    }
  }

  // stsd: version/flags(4) entry_count(4), then sample entries.
  const entry = readBoxes(bytes, stsd.body + 8, stsd.end)[0];
  if (!entry) throw new Error("stsd without a sample entry");
  const info: InitSegmentInfo = {
    handler,
    timescale,
    editMediaTime,
    presentationDelay: Math.round((emptyEditDuration * timescale) / movieTimescale),
    codecs: entry.type,
    width: null,
    height: null,
    sar: null,
    sampleRate: null,
    channels: null,
  };
  if (entry.type === "avc1" || entry.type === "avc3") {
    // VisualSampleEntry: 6 reserved + 2 data_reference_index + 16 predefined/reserved, then width, height; 78 bytes in all.
    info.width = view.getUint16(entry.body + 24);
    info.height = view.getUint16(entry.body + 26);
    const children = readBoxes(bytes, entry.body + 78, entry.end);
    const avcC = children.find((b) => b.type === "avcC");
    if (avcC) {
      const hex = (n: number) => (bytes[avcC.body + n] ?? 0).toString(16).padStart(2, "0");
      info.codecs = `${entry.type}.${hex(1)}${hex(2)}${hex(3)}`;
    }
    const pasp = children.find((b) => b.type === "pasp");
    info.sar = pasp ? `${view.getUint32(pasp.body)}:${view.getUint32(pasp.body + 4)}` : "1:1";
  } else if (entry.type === "mp4a") {
    // AudioSampleEntry: 6 reserved + 2 index + 8 reserved, channelcount(2), samplesize(2), 4 more, samplerate 16.16; 28 bytes.
    info.channels = view.getUint16(entry.body + 16);
    info.sampleRate = view.getUint32(entry.body + 24) >>> 16;
    const esds = readBoxes(bytes, entry.body + 28, entry.end).find((b) => b.type === "esds");
    const objectType = esds ? audioObjectType(bytes, esds.body + 4, esds.end) : null;
    info.codecs = objectType ? `mp4a.40.${objectType}` : "mp4a.40.2";
  }
  return info;
}

/** The AAC audio object type from an `esds` descriptor list (ES → DecoderConfig → DecoderSpecificInfo). */
function audioObjectType(bytes: Uint8Array, from: number, to: number): number | null {
  let at = from;
  const descriptor = () => {
    const tag = bytes[at++] ?? 0;
    let size = 0;
    for (let i = 0; i < 4; i++) {
      const b = bytes[at++] ?? 0;
      size = (size << 7) | (b & 0x7f);
      if (!(b & 0x80)) break;
    }
    return { tag, size };
  };
  while (at < to) {
    const { tag, size } = descriptor();
    if (tag === 0x03) {
      // ES_ID(2) flags(1) [dependsOn_ES_ID(2)] [URL length(1) + URL] [OCR_ES_ID(2)]
      const flags = bytes[at + 2] ?? 0;
      at += 3;
      if (flags & 0x80) at += 2;
      if (flags & 0x40) at += 1 + (bytes[at] ?? 0);
      if (flags & 0x20) at += 2;
    } else if (tag === 0x04) {
      at += 13;
    } else if (tag === 0x05) {
      const first = (bytes[at] ?? 0) >> 3;
      return first === 31 ? 32 + ((((bytes[at] ?? 0) & 0x7) << 3) | ((bytes[at + 1] ?? 0) >> 5)) : first;
    } else {
      at += size;
    }
  }
  return null;
}
