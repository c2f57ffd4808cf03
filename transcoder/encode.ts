/**
 * The ffmpeg command for one job: decode once, `split` + `scale` into every rung, H.264 High +
 * AAC-LC, a keyframe every 2 s on every rung, 4 s fMP4 segments, a DASH MPD with HLS playlists
 * over the same segments, and a poster JPEG from the same decode. Pure functions.
 *
 * Output layout (one flat directory, every name matches OUTPUT_FILE_NAME):
 *   manifest.mpd                 DASH: one video AdaptationSet (every rung) + one audio set
 *   master.m3u8, media_<n>.m3u8  HLS master and one media playlist per Representation
 *   init-<n>.m4s                 initialization segment of Representation <n>
 *   chunk-<n>-<00001>.m4s        media segments, numbered from 1
 *   poster.jpg                   a frame from 10% into the video
 * Representation ids <n> are 0..k-1 for the video rungs, largest first, then k for audio.
 */
import { join } from "node:path";
import type { FfmpegCommandSpec } from "./ffmpeg.ts";
import { gopFrames, outputFrameRate, planLadder, type Rung } from "./ladder.ts";
import type { Rational, SourceInfo } from "./source.ts";

export const MANIFEST_NAME = "manifest.mpd";
export const HLS_MASTER_NAME = "master.m3u8";
export const POSTER_NAME = "poster.jpg";
export const SEGMENT_SECONDS = 4;
export const KEYFRAME_SECONDS = 2;
export const AUDIO_BITRATE = 128_000;
export const AUDIO_SAMPLE_RATE = 48_000;
/** The poster is at most this wide. */
export const POSTER_MAX_WIDTH = 1280;
/** Where the poster frame is taken, as a fraction of the duration. */
export const POSTER_POSITION = 0.1;

export const INIT_SEGMENT_TEMPLATE = "init-$RepresentationID$.m4s";
export const MEDIA_SEGMENT_TEMPLATE = "chunk-$RepresentationID$-$Number%05d$.m4s";
// A finished media segment (ffmpeg writes `<name>.tmp` and renames it when complete), and an init segment.
export { INIT_SEGMENT_NAME, MEDIA_SEGMENT_NAME } from "../shared/protocol.ts";
/** HLS media playlists, named by ffmpeg's dash muxer. */
export const HLS_MEDIA_PLAYLIST_NAME = /^media_(\d+)\.m3u8$/;

export const initSegmentName = (representationId: string) => `init-${representationId}.m4s`;
export const mediaSegmentName = (representationId: string, number: number) =>
  `chunk-${representationId}-${String(number).padStart(5, "0")}.m4s`;

export interface EncodePlan {
  rungs: Rung[];
  videoStreamIndex: number;
  /** Null for a video-only ladder. */
  audioStreamIndex: number | null;
  /** Output frame rate; null keeps the source's timing. */
  frameRate: Rational | null;
  /** Deinterlace (one frame per frame, bwdif) before anything else. */
  deinterlace: boolean;
  /** Frames between keyframes (2 s). */
  gop: number;
  poster: { at: number; width: number; height: number };
}

const roundEven = (n: number) => Math.max(2, Math.round(n / 2) * 2);

/** Everything about the encode that follows from the source and the job's top rung. */
export function planEncode(source: SourceInfo, maxHeight: number): EncodePlan {
  const sourceFps = source.video.frameRate ? source.video.frameRate.num / source.video.frameRate.den : null;
  const fps = outputFrameRate(sourceFps);
  const frameRate =
    fps !== null && source.video.frameRate && sourceFps !== null
      ? { num: source.video.frameRate.num, den: source.video.frameRate.den * Math.round(sourceFps / fps) }
      : null;
  const rungs = planLadder(
    {
      width: source.video.width,
      height: source.video.height,
      sampleAspectRatio: source.video.sampleAspectRatio,
      rotation: source.video.rotation,
    },
    { maxHeight, frameRate: fps },
  );
  const top = rungs[0] as Rung;
  const posterWidth = Math.min(top.width, POSTER_MAX_WIDTH);
  return {
    rungs,
    videoStreamIndex: source.video.index,
    audioStreamIndex: source.audio?.index ?? null,
    frameRate,
    deinterlace: source.video.interlaced,
    gop: gopFrames(fps),
    poster: {
      at: source.duration ? Math.round(source.duration * POSTER_POSITION * 1000) / 1000 : 0,
      width: posterWidth,
      height: roundEven((posterWidth * top.height) / top.width),
    },
  };
}

/** ffmpeg input options to read the source from the internal job API. */
export function httpInputOptions(token: string): string[] {
  return [
    "-headers",
    `Authorization: Bearer ${token}\r\n`,
    // Give up on a stalled connection after 60 s; reconnect (with Range) after a dropped one.
    "-rw_timeout",
    "60000000",
    "-reconnect",
    "1",
    "-reconnect_on_network_error",
    "1",
    "-reconnect_delay_max",
    "30",
  ];
}

export interface EncodeCommandOptions {
  /** URL or path of the source. */
  input: string;
  inputOptions?: string[];
  /** Directory the outputs are written to; must exist. */
  outDir: string;
  x264Preset: string;
}

/** Filters before the split: deinterlacing, then the output frame rate. */
export const videoPreFilters = (plan: EncodePlan) =>
  (plan.deinterlace ? "bwdif=mode=send_frame," : "") +
  (plan.frameRate ? `fps=${plan.frameRate.num}/${plan.frameRate.den},` : "");

/** `[s<i>]` → `[v<i>]`: each rung's scaler. */
export const rungFilters = (rungs: Rung[]) =>
  rungs.map((r, i) => `[s${i}]scale=${r.width}:${r.height}:flags=bicubic,format=yuv420p[v${i}]`);

/**
 * `[sp]` → `[poster]`: the branch's first frame, then the first at or after `at` seconds (of the
 * branch's own timestamps) written over it. The first frame too because ffmpeg reports no
 * progress until every output has started, and the poster output would otherwise start only
 * at `at`.
 */
export const posterFilter = (plan: EncodePlan, at: number) =>
  `[sp]select='max(eq(n,0),gte(t,${at})*lt(prev_selected_t,${at}))',scale=${plan.poster.width}:${plan.poster.height},setsar=1[poster]`;

/** Source metadata (camera, location) stays private. */
export const PRIVACY_OPTIONS = ["-map_metadata", "-1", "-map_chapters", "-1"];

/**
 * H.264 High with capped CRF per rung and keyframes at least every `keyint` frames plus those
 * `forceKeyFrames` asks for (an ffmpeg `-force_key_frames` value); no scene-cut keyframes.
 */
export function videoCodecOptions(
  plan: EncodePlan,
  x264Preset: string,
  keyframes: { keyint: number; forceKeyFrames: string },
): string[] {
  const perRung = plan.rungs.flatMap((r, i) => [
    `-crf:v:${i}`,
    String(r.crf),
    `-maxrate:v:${i}`,
    String(r.maxrate),
    `-bufsize:v:${i}`,
    String(r.bufsize),
  ]);
  return [
    "-c:v",
    "libx264",
    "-preset",
    x264Preset,
    "-profile:v",
    "high",
    "-pix_fmt",
    "yuv420p",
    ...perRung,
    "-g",
    String(keyframes.keyint),
    "-keyint_min",
    String(plan.gop),
    "-sc_threshold",
    "0",
    "-force_key_frames",
    keyframes.forceKeyFrames,
  ];
}

/** AAC-LC stereo 48 kHz. */
export const AUDIO_CODEC_OPTIONS = [
  "-c:a",
  "aac",
  "-profile:a",
  "aac_low",
  "-b:a",
  String(AUDIO_BITRATE),
  "-ac",
  "2",
  "-ar",
  String(AUDIO_SAMPLE_RATE),
];

/**
 * The poster output's options (a JPEG of the `[poster]` branch of {@link posterFilter}): the
 * selected frames as they are (no frames repeated to fill the gap), each over the one before.
 */
export const posterOutputOptions = (at: number) => [
  ...["-map", "[poster]", "-frames:v", at > 0 ? "2" : "1", "-fps_mode", "passthrough"],
  ...["-update", "1", "-q:v", "3", "-f", "image2"],
];

/** ffmpeg's global options for a run that reports progress on stdout (`-progress pipe:1`). */
export const PROGRESS_GLOBAL_OPTIONS = [
  "-hide_banner",
  "-nostdin",
  "-loglevel",
  "error",
  "-nostats",
  "-progress",
  "pipe:1",
];

/** The ffmpeg command for a plan. Progress is reported on stdout (`-progress pipe:1`). */
export function buildEncodeCommand(plan: EncodePlan, options: EncodeCommandOptions): FfmpegCommandSpec {
  const { rungs } = plan;
  const branches = rungs.map((_, i) => `[s${i}]`).join("");
  const graph = [
    `[0:${plan.videoStreamIndex}]${videoPreFilters(plan)}split=${rungs.length + 1}${branches}[sp]`,
    ...rungFilters(rungs),
    posterFilter(plan, plan.poster.at),
  ].join(";");

  const hasAudio = plan.audioStreamIndex !== null;
  const dash = [
    ...rungs.flatMap((_, i) => ["-map", `[v${i}]`]),
    ...(hasAudio ? ["-map", `0:${plan.audioStreamIndex}`] : []),
    ...PRIVACY_OPTIONS,
    ...videoCodecOptions(plan, options.x264Preset, {
      keyint: plan.gop,
      forceKeyFrames: `expr:gte(t,n_forced*${KEYFRAME_SECONDS})`,
    }),
    ...(hasAudio ? AUDIO_CODEC_OPTIONS : []),
    "-max_muxing_queue_size",
    "4096",
    "-f",
    "dash",
    "-seg_duration",
    String(SEGMENT_SECONDS),
    "-use_template",
    "1",
    "-use_timeline",
    "1",
    "-window_size",
    "0",
    "-adaptation_sets",
    hasAudio ? "id=0,streams=v id=1,streams=a" : "id=0,streams=v",
    "-init_seg_name",
    INIT_SEGMENT_TEMPLATE,
    "-media_seg_name",
    MEDIA_SEGMENT_TEMPLATE,
    "-hls_playlist",
    "1",
    "-hls_master_name",
    HLS_MASTER_NAME,
  ];

  return {
    global: PROGRESS_GLOBAL_OPTIONS,
    input: { source: options.input, options: options.inputOptions ?? [] },
    filterGraph: graph,
    outputs: [
      { target: join(options.outDir, MANIFEST_NAME), options: dash },
      { target: join(options.outDir, POSTER_NAME), options: posterOutputOptions(plan.poster.at) },
    ],
  };
}
