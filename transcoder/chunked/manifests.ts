/**
 * The manifests of a chunked encode, written by us rather than by ffmpeg (no single ffmpeg process
 * sees the whole video): a static DASH MPD (SegmentTemplate + SegmentTimeline, one video
 * AdaptationSet with every rung, one audio set) and HLS master + media playlists over the same
 * fMP4 segments. Pure functions. The MPD has the shape ffmpeg's dash muxer writes for the
 * one-pass encode (manifest.ts reads both), with the same file names.
 *
 * The same builders serve twice:
 * - while processing ({@link predictPresentation}): the complete timeline is known from the plan
 *   before anything is encoded (segments start on known frames; the audio track on known packets),
 *   so a static VOD manifest can be published as soon as the first chunk and the audio have
 *   started; a rung's `bandwidth` is then its VBV cap, an honest upper bound under capped CRF, and
 *   the audio's its nominal rate;
 * - at the end ({@link assemblePresentation}): from what the units measured, with every
 *   Representation's peak segment bitrate.
 */
import {
  AUDIO_BITRATE,
  type EncodePlan,
  HLS_MASTER_NAME,
  INIT_SEGMENT_TEMPLATE,
  MEDIA_SEGMENT_TEMPLATE,
  mediaSegmentName,
  SEGMENT_SECONDS,
} from "../encode.ts";
import { peakBitrate } from "../manifest.ts";
import type { Rational } from "../source.ts";
import { audioRepresentationId } from "./command.ts";
import type { InitSegmentInfo } from "./fmp4.ts";
import { type ChunkPlan, frameAt } from "./plan.ts";
import type { UnitOutput } from "./run.ts";

/** One segment: its number and presentation interval in the Representation's timescale. */
export interface TimelineSegment {
  number: number;
  /** May be below 0 for the first audio segment (the encoder delay before the edit list's start). */
  start: number;
  duration: number;
}

export interface TrackDescription {
  id: string;
  kind: "video" | "audio";
  codecs: string;
  /** Bits per second announced: the measured peak, or the VBV cap before there is one. */
  bandwidth: number;
  timescale: number;
  width: number | null;
  height: number | null;
  /** "1:1", "1280:1281"; null for audio. */
  sar: string | null;
  sampleRate: number | null;
  channels: number | null;
  segments: TimelineSegment[];
}

export interface PresentationDescription {
  /** Output frame rate, for the MPD's frameRate; null when unknown. */
  frameRate: Rational | null;
  video: TrackDescription[];
  audio: TrackDescription | null;
}

/** The HLS media playlist of a Representation, named as ffmpeg's dash muxer names it. */
export const hlsMediaPlaylistName = (id: string) => `media_${id}.m3u8`;

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/** The timeline as an MPD states it: starts clamped at 0, each segment lasting until the next begins. */
export function mpdTimeline(segments: TimelineSegment[]): TimelineSegment[] {
  const starts = segments.map((s) => Math.max(0, s.start));
  return segments.map((s, i) => {
    const start = starts[i] as number;
    const end = i + 1 < segments.length ? (starts[i + 1] as number) : s.start + s.duration;
    return { number: s.number, start, duration: end - start };
  });
}

const seconds = (ticks: number, timescale: number) => ticks / timescale;
const isoSeconds = (s: number) => `PT${(Math.round(s * 1000) / 1000).toFixed(3).replace(/\.?0+$/, "")}S`;

function segmentTimelineXml(segments: TimelineSegment[], indent: string): string {
  const lines: string[] = [];
  let expected: number | null = null;
  let i = 0;
  const timeline = mpdTimeline(segments);
  while (i < timeline.length) {
    const s = timeline[i] as TimelineSegment;
    let repeat = 0;
    while (
      i + repeat + 1 < timeline.length &&
      (timeline[i + repeat + 1] as TimelineSegment).duration === s.duration &&
      (timeline[i + repeat + 1] as TimelineSegment).start === s.start + (repeat + 1) * s.duration
    ) {
      repeat++;
    }
    const t = expected === s.start ? "" : ` t="${s.start}"`;
    lines.push(`${indent}<S${t} d="${s.duration}"${repeat > 0 ? ` r="${repeat}"` : ""} />`);
    expected = s.start + (repeat + 1) * s.duration;
    i += repeat + 1;
  }
  return lines.join("\n");
}

function representationXml(track: TrackDescription): string {
  const attrs =
    track.kind === "video"
      ? `id="${track.id}" mimeType="video/mp4" codecs="${track.codecs}" bandwidth="${track.bandwidth}" width="${track.width}" height="${track.height}" sar="${track.sar ?? "1:1"}"`
      : `id="${track.id}" mimeType="audio/mp4" codecs="${track.codecs}" bandwidth="${track.bandwidth}" audioSamplingRate="${track.sampleRate}"`;
  const channels =
    track.kind === "audio" && track.channels
      ? `\t\t\t\t<AudioChannelConfiguration schemeIdUri="urn:mpeg:dash:23003:3:audio_channel_configuration:2011" value="${track.channels}" />\n`
      : "";
  const startNumber = track.segments[0]?.number ?? 1;
  return [
    `\t\t\t<Representation ${attrs}>`,
    `${channels}\t\t\t\t<SegmentTemplate timescale="${track.timescale}" initialization="${INIT_SEGMENT_TEMPLATE}" media="${MEDIA_SEGMENT_TEMPLATE}" startNumber="${startNumber}">`,
    "\t\t\t\t\t<SegmentTimeline>",
    segmentTimelineXml(track.segments, "\t\t\t\t\t\t"),
    "\t\t\t\t\t</SegmentTimeline>",
    "\t\t\t\t</SegmentTemplate>",
    "\t\t\t</Representation>",
  ].join("\n");
}

const trackEnd = (t: TrackDescription) => {
  const last = t.segments.at(-1);
  return last ? seconds(last.start + last.duration, t.timescale) : 0;
};

/** A static (VOD) MPD for a presentation. */
export function buildMpd(p: PresentationDescription): string {
  const tracks = [...p.video, ...(p.audio ? [p.audio] : [])];
  const duration = Math.max(0, ...tracks.map(trackEnd));
  const longest = Math.max(
    SEGMENT_SECONDS,
    ...tracks.flatMap((t) => mpdTimeline(t.segments).map((s) => seconds(s.duration, t.timescale))),
  );
  const top = p.video[0];
  const [sarW, sarH] = (top?.sar ?? "1:1").split(":").map(Number) as [number, number];
  const parW = (top?.width ?? 1) * sarW;
  const parH = (top?.height ?? 1) * sarH;
  const parDivisor = gcd(parW, parH) || 1;
  const frameRate = p.frameRate
    ? (() => {
        const d = gcd(p.frameRate.num, p.frameRate.den);
        return ` frameRate="${p.frameRate.num / d}/${p.frameRate.den / d}"`;
      })()
    : "";
  const sets: string[] = [];
  if (p.video.length > 0) {
    const maxWidth = Math.max(...p.video.map((t) => t.width ?? 0));
    const maxHeight = Math.max(...p.video.map((t) => t.height ?? 0));
    sets.push(
      [
        `\t\t<AdaptationSet id="0" contentType="video" startWithSAP="1" segmentAlignment="true" bitstreamSwitching="true"${frameRate} maxWidth="${maxWidth}" maxHeight="${maxHeight}" par="${parW / parDivisor}:${parH / parDivisor}">`,
        ...p.video.map(representationXml),
        "\t\t</AdaptationSet>",
      ].join("\n"),
    );
  }
  if (p.audio) {
    sets.push(
      [
        `\t\t<AdaptationSet id="${sets.length}" contentType="audio" startWithSAP="1" segmentAlignment="true" bitstreamSwitching="true">`,
        representationXml(p.audio),
        "\t\t</AdaptationSet>",
      ].join("\n"),
    );
  }
  return [
    '<?xml version="1.0" encoding="utf-8"?>',
    '<MPD xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"',
    '\txmlns="urn:mpeg:dash:schema:mpd:2011"',
    '\txmlns:xlink="http://www.w3.org/1999/xlink"',
    '\txsi:schemaLocation="urn:mpeg:DASH:schema:MPD:2011 http://standards.iso.org/ittf/PubliclyAvailableStandards/MPEG-DASH_schema_files/DASH-MPD.xsd"',
    '\tprofiles="urn:mpeg:dash:profile:isoff-live:2011"',
    '\ttype="static"',
    `\tmediaPresentationDuration="${isoSeconds(duration)}"`,
    `\tmaxSegmentDuration="${isoSeconds(longest)}"`,
    `\tminBufferTime="${isoSeconds(2 * SEGMENT_SECONDS)}">`,
    '\t<Period id="0" start="PT0S">',
    ...sets,
    "\t</Period>",
    "</MPD>",
    "",
  ].join("\n");
}

/** An HLS media playlist (VOD, fMP4) of one Representation, with the same durations as the MPD. */
export function buildHlsMediaPlaylist(track: TrackDescription): string {
  const timeline = mpdTimeline(track.segments);
  const durations = timeline.map((s) => seconds(s.duration, track.timescale));
  const target = Math.max(1, ...durations.map((d) => Math.round(d)));
  return [
    "#EXTM3U",
    "#EXT-X-VERSION:7",
    `#EXT-X-TARGETDURATION:${target}`,
    `#EXT-X-MEDIA-SEQUENCE:${timeline[0]?.number ?? 1}`,
    "#EXT-X-PLAYLIST-TYPE:VOD",
    "#EXT-X-INDEPENDENT-SEGMENTS",
    `#EXT-X-MAP:URI="${INIT_SEGMENT_TEMPLATE.replace("$RepresentationID$", track.id)}"`,
    ...timeline.flatMap((s, i) => [
      `#EXTINF:${(durations[i] as number).toFixed(6)},`,
      mediaSegmentName(track.id, s.number),
    ]),
    "#EXT-X-ENDLIST",
    "",
  ].join("\n");
}

/** The HLS master playlist: one variant per video rung (its bandwidth plus the audio's), one audio rendition. */
export function buildHlsMaster(p: PresentationDescription): string {
  const lines = ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-INDEPENDENT-SEGMENTS"];
  const audio = p.audio;
  if (audio) {
    lines.push(
      `#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="group_A1",NAME="audio_${audio.id}",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="${audio.channels ?? 2}",URI="${hlsMediaPlaylistName(audio.id)}"`,
    );
  }
  for (const track of p.video) {
    const codecs = audio ? `${track.codecs},${audio.codecs}` : track.codecs;
    lines.push(
      `#EXT-X-STREAM-INF:BANDWIDTH=${track.bandwidth + (audio?.bandwidth ?? 0)},RESOLUTION=${track.width}x${track.height},CODECS="${codecs}"${audio ? ',AUDIO="group_A1"' : ""}`,
      hlsMediaPlaylistName(track.id),
    );
  }
  return `${lines.join("\n")}\n`;
}

/** Every manifest file of a presentation, by name: the MPD, the HLS master and each media playlist. */
export function buildManifests(p: PresentationDescription, mpdName: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const track of [...p.video, ...(p.audio ? [p.audio] : [])]) {
    files.set(hlsMediaPlaylistName(track.id), buildHlsMediaPlaylist(track));
  }
  files.set(HLS_MASTER_NAME, buildHlsMaster(p));
  files.set(mpdName, buildMpd(p));
  return files;
}

function describeTrack(
  id: string,
  init: InitSegmentInfo,
  bandwidth: number,
  segments: TimelineSegment[],
): TrackDescription {
  return {
    id,
    kind: init.handler === "soun" ? "audio" : "video",
    codecs: init.codecs,
    bandwidth,
    timescale: init.timescale,
    width: init.width,
    height: init.height,
    sar: init.sar,
    sampleRate: init.sampleRate,
    channels: init.channels,
    segments,
  };
}

/** AAC frames are 1024 samples; the encoder's first (priming) packet sits before the edit list's start. */
const AAC_FRAME = 1024;

/**
 * The whole presentation as it will be, before it is encoded: the video timeline from the frame
 * grid (segment n starts on the first frame at or after 4(n-1) s), the audio timeline from the
 * packet grid (the audio unit cuts before the first packet at least 4n s after its first), each
 * rung announced at its VBV cap. Exact for every segment but the last, whose end is estimated
 * from the probed duration. Needs the init segments (from the first chunk and the audio unit).
 */
export function predictPresentation(
  plan: EncodePlan,
  chunks: ChunkPlan,
  inits: ReadonlyMap<string, InitSegmentInfo>,
): PresentationDescription {
  const duration = chunks.duration ?? 0;
  const rate = chunks.frameRate;
  const video = plan.rungs.map((rung, i) => {
    const id = String(i);
    const init = inits.get(id);
    if (!init) throw new Error(`no init segment for Representation ${id}`);
    const segments: TimelineSegment[] = [];
    if (rate) {
      const ticksPerFrame = (init.timescale * rate.den) / rate.num;
      const frames = Math.max(1, Math.round((duration * rate.num) / rate.den));
      for (let n = 1; frameAt((n - 1) * SEGMENT_SECONDS, rate) < frames; n++) {
        const first = frameAt((n - 1) * SEGMENT_SECONDS, rate);
        const next = Math.min(frames, frameAt(n * SEGMENT_SECONDS, rate));
        segments.push({ number: n, start: first * ticksPerFrame, duration: (next - first) * ticksPerFrame });
      }
    }
    return describeTrack(id, init, rung.maxrate, segments);
  });

  let audio: TrackDescription | null = null;
  if (plan.audioStreamIndex !== null) {
    const id = audioRepresentationId(plan);
    const init = inits.get(id);
    if (!init) throw new Error(`no init segment for Representation ${id}`);
    const samples = Math.round(duration * init.timescale);
    const packets = Math.ceil(samples / AAC_FRAME) + 1;
    const perSegment = (SEGMENT_SECONDS * init.timescale) / AAC_FRAME;
    const segments: TimelineSegment[] = [];
    for (let n = 1, first = 0; first < packets; n++) {
      const next = Math.min(packets, Math.ceil(n * perSegment));
      segments.push({ number: n, start: first * AAC_FRAME - init.editMediaTime, duration: (next - first) * AAC_FRAME });
      first = next;
    }
    audio = describeTrack(id, init, AUDIO_BITRATE, segments);
  }
  return { frameRate: rate, video, audio };
}

/** A set of unit outputs that do not make one continuous presentation. */
export class PresentationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PresentationError";
  }
}

/** Joins a Representation's segments from several units, checking they follow each other exactly. */
function joinSegments(id: string, parts: { segments: (TimelineSegment & { bytes: number })[] }[]) {
  const segments = parts.flatMap((p) => p.segments).sort((a, b) => a.number - b.number);
  for (const [i, s] of segments.entries()) {
    if (s.number !== i + 1) throw new PresentationError(`Representation ${id}: segment ${i + 1} is missing`);
    const before = segments[i - 1];
    if (before && before.start + before.duration !== s.start) {
      throw new PresentationError(
        `Representation ${id}: segment ${s.number} starts at ${s.start}, not where segment ${before.number} ends (${before.start + before.duration})`,
      );
    }
  }
  return segments;
}

/**
 * The finished presentation from every unit's output (chunks in any order): checks that each
 * rung's init segment is the same in every chunk and that its segments follow each other with no
 * gap or overlap, and announces each Representation's measured peak segment bitrate.
 */
export function assemblePresentation(
  plan: EncodePlan,
  chunks: ChunkPlan,
  chunkOutputs: readonly UnitOutput[],
  audioOutput: UnitOutput | null,
): PresentationDescription {
  if (chunkOutputs.length !== chunks.chunks.length) {
    throw new PresentationError(`${chunkOutputs.length} of ${chunks.chunks.length} chunks are done`);
  }
  const video = plan.rungs.map((_, i) => {
    const id = String(i);
    const parts = chunkOutputs.map((o) => o.representations.find((r) => r.id === id));
    const first = parts[0];
    if (!first || parts.some((p) => !p)) throw new PresentationError(`Representation ${id} is missing from a chunk`);
    if (parts.some((p) => p?.initSha256 !== first.initSha256)) {
      throw new PresentationError(`Representation ${id}: the chunks' init segments differ`);
    }
    const segments = joinSegments(id, parts as NonNullable<(typeof parts)[number]>[]);
    return describeTrack(id, first.init, peakOf(segments, first.init.timescale), segments);
  });
  let audio: TrackDescription | null = null;
  if (plan.audioStreamIndex !== null) {
    const rep = audioOutput?.representations.find((r) => r.id === audioRepresentationId(plan));
    if (!rep) throw new PresentationError("the audio is not done");
    const segments = joinSegments(rep.id, [rep]);
    // The first chunk stored the audio's start under the same names: it must be what the audio
    // unit made, or the stored segments would be a mix of two encodes.
    const start = chunkOutputs[0]?.representations.find((r) => r.id === rep.id);
    for (const s of start?.segments ?? []) {
      const same = segments[s.number - 1];
      if (!same || same.start !== s.start || same.duration !== s.duration || same.bytes !== s.bytes) {
        throw new PresentationError(`the audio's start stored with the first chunk differs at segment ${s.number}`);
      }
    }
    if (start && start.initSha256 !== rep.initSha256) {
      throw new PresentationError("the audio's init segment stored with the first chunk differs");
    }
    audio = describeTrack(rep.id, rep.init, peakOf(segments, rep.init.timescale), segments);
  }
  return { frameRate: chunks.frameRate, video, audio };
}

const peakOf = (segments: (TimelineSegment & { bytes: number })[], timescale: number) =>
  peakBitrate(
    mpdTimeline(segments).map((s, i) => ({
      bytes: (segments[i] as { bytes: number }).bytes,
      seconds: s.duration / timescale,
    })),
    SEGMENT_SECONDS,
  );
