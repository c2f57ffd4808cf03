/**
 * What a source is, from ffprobe's report and its first bytes: the streams to encode, or why it
 * is refused (`not_video`, `unsupported`, `too_long`) in words a person uploading it understands.
 * Pure functions; the first bytes are recognised by the sniffer shared with the Worker (shared/sniff.ts).
 */
import type { FailureCode } from "../shared/protocol.ts";

/** The part of ffprobe's `-show_streams -show_format` report that is used here. */
export interface ProbedStream {
  index: number;
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  sample_aspect_ratio?: string;
  r_frame_rate?: string;
  avg_frame_rate?: string;
  field_order?: string;
  duration?: number | string;
  channels?: number;
  rotation?: number | string;
  disposition?: { default?: number; attached_pic?: number };
  tags?: Record<string, string | number | undefined>;
}

export interface ProbedMedia {
  streams: ProbedStream[];
  format: { format_name?: string; duration?: number | string };
}

export interface Rational {
  num: number;
  den: number;
}

export interface SourceInfo {
  /** Container as ffprobe names it, e.g. "mov,mp4,m4a,3gp,3g2,mj2". */
  formatName: string;
  /** Seconds, or null when the container does not say (then it is measured while encoding). */
  duration: number | null;
  video: {
    index: number;
    codec: string;
    width: number;
    height: number;
    sampleAspectRatio: number;
    rotation: number;
    frameRate: Rational | null;
    /** Interlaced fields (camcorder, broadcast, DVD): deinterlaced before scaling. */
    interlaced: boolean;
  };
  audio: { index: number; codec: string; channels: number | null } | null;
}

export type SourceVerdict =
  | { ok: true; source: SourceInfo }
  | { ok: false; code: Extract<FailureCode, "not_video" | "unsupported" | "too_long">; message: string };

const toNumber = (value: number | string | undefined): number | null => {
  if (value === undefined || value === "" || value === "N/A") return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
};

export function parseRational(value: string | undefined): Rational | null {
  const match = /^(\d+)(?:[/:](\d+))?$/.exec(value ?? "");
  if (!match) return null;
  const num = Number(match[1]);
  const den = Number(match[2] ?? 1);
  return num > 0 && den > 0 ? { num, den } : null;
}

/** "1 h 02 min", "12 min 05 s", "45 s". */
export function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = s % 60;
  if (h > 0) return `${h} h ${String(m).padStart(2, "0")} min`;
  if (m > 0) return `${m} min ${String(rest).padStart(2, "0")} s`;
  return `${rest} s`;
}

/** Formats ffprobe may report for still pictures rather than moving video. */
const STILL_IMAGE_FORMAT = /(^|,)(image2|[a-z0-9]+_pipe)(,|$)/;

/** Decides whether a probed source can be transcoded, and picks its video and audio streams. */
export function assessSource(probe: ProbedMedia, limits: { maxDurationSeconds: number }): SourceVerdict {
  const formatName = probe.format.format_name ?? "unknown";
  const videos = probe.streams.filter((s) => s.codec_type === "video" && s.disposition?.attached_pic !== 1);
  const audios = probe.streams.filter((s) => s.codec_type === "audio");
  if (videos.length === 0) {
    return {
      ok: false,
      code: "not_video",
      message:
        audios.length > 0
          ? "The file has no video track: it contains only audio."
          : "The file has no video track, so there is nothing to play.",
    };
  }
  if (STILL_IMAGE_FORMAT.test(formatName)) {
    return { ok: false, code: "not_video", message: "The file is a still image, not a video." };
  }
  const video = videos.find((s) => s.disposition?.default === 1) ?? (videos[0] as ProbedStream);
  if (!video.codec_name || video.codec_name === "none" || video.codec_name === "unknown") {
    return {
      ok: false,
      code: "unsupported",
      message: "The video track uses a compression format that cannot be decoded here.",
    };
  }
  const width = toNumber(video.width) ?? 0;
  const height = toNumber(video.height) ?? 0;
  if (width < 2 || height < 2) {
    return {
      ok: false,
      code: "unsupported",
      message: "The video track has no readable picture size; the file may be damaged.",
    };
  }

  const streamDurations = [video, ...audios].map((s) => toNumber(s.duration)).filter((d): d is number => d !== null);
  const containerDuration = toNumber(probe.format.duration);
  const duration =
    containerDuration !== null && containerDuration > 0
      ? containerDuration
      : streamDurations.length > 0 && Math.max(...streamDurations) > 0
        ? Math.max(...streamDurations)
        : null;
  if (duration !== null && duration > limits.maxDurationSeconds) {
    return {
      ok: false,
      code: "too_long",
      message: `The video is ${formatDuration(duration)} long; the longest video accepted is ${formatDuration(limits.maxDurationSeconds)}.`,
    };
  }

  const sar = parseRational(video.sample_aspect_ratio);
  const rotation = toNumber(video.rotation) ?? toNumber(video.tags?.rotate) ?? 0;
  const frameRate = parseRational(video.avg_frame_rate) ?? parseRational(video.r_frame_rate);
  const audio = audios.find((s) => s.disposition?.default === 1) ?? audios[0];
  const audioUsable = audio?.codec_name && audio.codec_name !== "none" && audio.codec_name !== "unknown";
  return {
    ok: true,
    source: {
      formatName,
      duration,
      video: {
        index: video.index,
        codec: video.codec_name,
        width,
        height,
        sampleAspectRatio: sar ? sar.num / sar.den : 1,
        rotation,
        frameRate,
        interlaced: ["tt", "bb", "tb", "bt"].includes(video.field_order ?? ""),
      },
      audio:
        audio && audioUsable
          ? { index: audio.index, codec: audio.codec_name as string, channels: toNumber(audio.channels) }
          : null,
    },
  };
}

/**
 * Why ffprobe could not open a source: a damaged or truncated file of a known container is
 * `unsupported`; a file with nothing media-like in it is `not_video`.
 */
export function explainProbeFailure(
  stderr: string,
  /** What the first bytes look like (a container's label), or null for nothing media-like. */
  sniffed: string | null,
): { code: "not_video" | "unsupported"; message: string } {
  if (/moov atom not found/i.test(stderr)) {
    return {
      code: "unsupported",
      message:
        "The MP4/MOV file is incomplete or damaged: its index (moov atom) is missing, which usually means the upload or recording was cut short.",
    };
  }
  if (sniffed) {
    return {
      code: "unsupported",
      message: `The file looks like ${sniffed} but could not be read; it may be damaged or use a variant that is not supported.`,
    };
  }
  return {
    code: "not_video",
    message: "The file is not a video: no known audio or video format was found in it.",
  };
}
