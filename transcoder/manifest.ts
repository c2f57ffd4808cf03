/**
 * Reading and finishing the manifests ffmpeg's dash muxer writes. Pure functions over the text
 * (the muxer's output has a fixed, simple shape, so no XML library is needed).
 *
 * `bandwidth` is made honest here: ffmpeg 5.1 announces the first segment's average rate, so
 * after encoding every Representation's `bandwidth` in the MPD is replaced by its measured peak
 * segment bitrate (bytes × 8 / duration of its largest-rate segment, as HLS defines BANDWIDTH),
 * and each HLS variant's BANDWIDTH by its video peak plus the audio peak.
 */

export interface MpdSegment {
  number: number;
  /** Start and duration in the Representation's timescale. */
  start: number;
  duration: number;
}

export interface MpdRepresentation {
  id: string;
  adaptationSetId: string;
  kind: "video" | "audio";
  codecs: string;
  bandwidth: number;
  width: number | null;
  height: number | null;
  /** "1:1", "1280:1281", …; null for audio. */
  sar: string | null;
  timescale: number;
  segments: MpdSegment[];
}

export interface MpdSummary {
  type: string | null;
  adaptationSets: { id: string; contentType: string; representationIds: string[] }[];
  representations: MpdRepresentation[];
}

const attributes = (tag: string): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const m of tag.matchAll(/([A-Za-z:]+)="([^"]*)"/g)) out[m[1] as string] = m[2] as string;
  return out;
};

const toInt = (value: string | undefined): number | null => {
  if (value === undefined) return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
};

/** The AdaptationSets and Representations of an MPD, with every segment of each timeline. */
export function parseMpd(xml: string): MpdSummary {
  const type = /<MPD\b[^>]*\btype="([^"]+)"/.exec(xml)?.[1] ?? null;
  const adaptationSets: MpdSummary["adaptationSets"] = [];
  const representations: MpdRepresentation[] = [];
  for (const set of xml.matchAll(/<AdaptationSet\b([^>]*)>([\s\S]*?)<\/AdaptationSet>/g)) {
    const setAttrs = attributes(set[1] as string);
    const setId = setAttrs.id ?? String(adaptationSets.length);
    const contentType = setAttrs.contentType ?? "";
    const ids: string[] = [];
    for (const rep of (set[2] as string).matchAll(/<Representation\b([^>]*)>([\s\S]*?)<\/Representation>/g)) {
      const a = attributes(rep[1] as string);
      const body = rep[2] as string;
      const template = attributes(/<SegmentTemplate\b([^>]*)>/.exec(body)?.[1] ?? "");
      const timescale = toInt(template.timescale) ?? 1;
      let number = toInt(template.startNumber) ?? 1;
      let time = 0;
      const segments: MpdSegment[] = [];
      for (const s of body.matchAll(/<S\b([^>]*)\/>/g)) {
        const sa = attributes(s[1] as string);
        if (sa.t !== undefined) time = Number(sa.t);
        const d = Number(sa.d);
        const repeat = toInt(sa.r) ?? 0;
        for (let i = 0; i <= repeat; i++) {
          segments.push({ number: number++, start: time, duration: d });
          time += d;
        }
      }
      const mime = a.mimeType ?? "";
      const kind = contentType === "audio" || mime.startsWith("audio/") ? "audio" : "video";
      const id = a.id ?? "";
      ids.push(id);
      representations.push({
        id,
        adaptationSetId: setId,
        kind,
        codecs: a.codecs ?? "",
        bandwidth: toInt(a.bandwidth) ?? 0,
        width: toInt(a.width),
        height: toInt(a.height),
        sar: a.sar ?? null,
        timescale,
        segments,
      });
    }
    adaptationSets.push({ id: setId, contentType, representationIds: ids });
  }
  return { type, adaptationSets, representations };
}

/**
 * Peak segment bitrate in bits per second. A final segment shorter than half the nominal
 * segment length (the few frames after the last full segment) is counted together with the one
 * before it, so one keyframe in a 0.03 s remainder does not pose as the peak.
 */
export function peakBitrate(segments: { bytes: number; seconds: number }[], nominalSeconds: number): number {
  const measured = segments.filter((s) => s.seconds > 0);
  const last = measured.at(-1);
  const before = measured.at(-2);
  if (last && before && last.seconds < nominalSeconds / 2) {
    measured.splice(-2, 2, { bytes: before.bytes + last.bytes, seconds: before.seconds + last.seconds });
  }
  let peak = 0;
  for (const s of measured) peak = Math.max(peak, (s.bytes * 8) / s.seconds);
  return Math.max(1, Math.ceil(peak));
}

/** Sets each Representation's `bandwidth` (bits per second), keyed by Representation id. */
export function setMpdBandwidths(xml: string, bandwidths: ReadonlyMap<string, number>): string {
  return xml.replace(/<Representation\b[^>]*>/g, (tag) => {
    const id = attributes(tag).id;
    const value = id === undefined ? undefined : bandwidths.get(id);
    if (value === undefined) return tag;
    return /\bbandwidth="/.test(tag)
      ? tag.replace(/\bbandwidth="[^"]*"/, `bandwidth="${value}"`)
      : tag.replace(/^<Representation\b/, `<Representation bandwidth="${value}"`);
  });
}

/**
 * The HLS master playlist with each variant's BANDWIDTH set from the peaks (video peak plus the
 * audio peak), keyed by media playlist name ("media_0.m3u8"), and EXT-X-INDEPENDENT-SEGMENTS
 * (every segment starts with a keyframe).
 */
export function finishHlsMaster(text: string, variantBandwidths: ReadonlyMap<string, number>): string {
  const lines = text.split("\n");
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line.startsWith("#EXT-X-STREAM-INF:")) {
      const uri = lines.slice(i + 1).find((l) => l.trim() !== "" && !l.startsWith("#"));
      const bandwidth = uri === undefined ? undefined : variantBandwidths.get(uri.trim());
      out.push(bandwidth === undefined ? line : line.replace(/BANDWIDTH=\d+/, `BANDWIDTH=${bandwidth}`));
      continue;
    }
    out.push(line);
    if (line.startsWith("#EXT-X-VERSION:") && !text.includes("#EXT-X-INDEPENDENT-SEGMENTS")) {
      out.push("#EXT-X-INDEPENDENT-SEGMENTS");
    }
  }
  return out.join("\n");
}

/**
 * A finished HLS media playlist: marked VOD, without the encoder's wall-clock
 * EXT-X-PROGRAM-DATE-TIME tags (they would date every video to the moment it was encoded).
 */
export function finishHlsMediaPlaylist(text: string): string {
  const lines = text.split("\n").filter((l) => !l.startsWith("#EXT-X-PROGRAM-DATE-TIME"));
  const version = lines.findIndex((l) => l.startsWith("#EXT-X-VERSION:"));
  if (!text.includes("#EXT-X-PLAYLIST-TYPE") && text.includes("#EXT-X-ENDLIST")) {
    lines.splice(version >= 0 ? version + 1 : 1, 0, "#EXT-X-PLAYLIST-TYPE:VOD");
  }
  return lines.join("\n");
}
