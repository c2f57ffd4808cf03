/**
 * The ffmpeg commands of chunked encoding: one per chunk (every rung of one time range) and one
 * for the whole audio track. Pure functions; they share the one-pass encode's filters and
 * encoder options (encode.ts), so a chunk encodes exactly as the one-pass encode would.
 *
 * A chunk (after the first) reads the source with `-ss` before `-i` (a seek by the container's
 * index to a keyframe before its start, so only that range is fetched over HTTP),
 * `-noaccurate_seek` (frames before the start reach the filters, so the frame-rate filter sees
 * the same neighbours as in one pass) and `-copyts -start_at_zero` (timestamps stay those of the
 * whole video, shifted exactly as the one-pass encode shifts them). After the `fps` filter, `trim`
 * keeps exactly its output frames [startFrame, endFrame) and `setpts` moves them to start at 0,
 * so every chunk's init segment is the same; the segments are moved to their place afterwards
 * (fmp4.ts). ffmpeg stops reading once `trim` has passed the end. Keyframes are forced on the
 * frames of the whole video's 2 s grid, listed as exact frame times.
 *
 * Segments come from ffmpeg's dash muxer with a segment length of 3 s: it cuts at the first
 * keyframe at least that long after the segment's start, and with keyframes only on the 2 s grid
 * that is always the one 4 s later, so segments follow the grid from any start.
 *
 * The audio unit uses the hls muxer in fMP4 mode: it cuts at the first packet at or after every
 * 4 s of the track (no drift), numbers from 1, and, with negative timestamps allowed, keeps the
 * encoder-delay edit list the one-pass encode has. The first chunk makes the start of the audio
 * the same way (audioStartOf), from a second input reading the source from its start: the same
 * packets, so the same bytes, as the audio unit's.
 */
import { join } from "node:path";
import {
  AUDIO_CODEC_OPTIONS,
  type EncodePlan,
  INIT_SEGMENT_TEMPLATE,
  KEYFRAME_SECONDS,
  MEDIA_SEGMENT_TEMPLATE,
  POSTER_NAME,
  PRIVACY_OPTIONS,
  PROGRESS_GLOBAL_OPTIONS,
  posterFilter,
  posterOutputOptions,
  rungFilters,
  SEGMENT_SECONDS,
  videoCodecOptions,
  videoPreFilters,
} from "../encode.ts";
import type { FfmpegCommandSpec } from "../ffmpeg.ts";
import {
  audioStartOf,
  type Chunk,
  type ChunkPlan,
  chunkAt,
  chunkKeyframeTimes,
  frameTime,
  maxKeyframeSpacing,
} from "./plan.ts";

/** A chunk's seek goes this far before its start, so the filters see the frames just before it. */
export const SEEK_PREROLL_SECONDS = 1;
/** Name of the MPD the dash muxer writes next to a chunk's segments (only its segments are used). */
export const CHUNK_MUXER_MANIFEST = "chunk.mpd";
/** Name of the playlist the hls muxer writes next to the audio segments (only its segments are used). */
export const AUDIO_MUXER_PLAYLIST = "audio.m3u8";

export interface UnitCommandOptions {
  /** URL or path of the source. */
  input: string;
  /** e.g. httpInputOptions(token) for the internal job API. */
  inputOptions?: string[];
  /** Directory ffmpeg writes into; must exist. */
  outDir: string;
  /** Threads for decoding, filtering and each encoder; ffmpeg's own choice when absent. */
  threads?: number;
}

export interface ChunkCommandOptions extends UnitCommandOptions {
  x264Preset: string;
  /**
   * How far before its start a chunk seeks; default {@link SEEK_PREROLL_SECONDS}. A container
   * whose seek lands after a keyframe-less stretch (MPEG-TS) can need more: the unit then fails
   * its start check, and a retry with a longer preroll (or 0 s of seeking) fixes it.
   */
  prerollSeconds?: number;
}

/** The audio Representation's id: after the video rungs (0..k-1), as in the one-pass encode. */
export const audioRepresentationId = (plan: EncodePlan) => String(plan.rungs.length);

/** Whether a chunk makes the poster (the chunk holding the poster's time). */
export const chunkMakesPoster = (chunks: ChunkPlan, chunk: Chunk, plan: EncodePlan) =>
  chunkAt(chunks, plan.poster.at).index === chunk.index;

const threadOptions = (threads: number | undefined) => (threads ? ["-threads", String(threads)] : []);

/** The ffmpeg command for one chunk: every rung of [chunk.start, chunk.end), video only. */
export function buildChunkCommand(
  plan: EncodePlan,
  chunks: ChunkPlan,
  chunk: Chunk,
  options: ChunkCommandOptions,
): FfmpegCommandSpec {
  const { rungs } = plan;
  const rate = chunks.frameRate;
  const seeks = chunk.startFrame > 0;
  const range = [
    seeks || chunk.endFrame !== null
      ? `trim=${[seeks ? `start_pts=${chunk.startFrame}` : "", chunk.endFrame !== null ? `end_pts=${chunk.endFrame}` : ""].filter(Boolean).join(":")},`
      : "",
    seeks ? `setpts=PTS-${chunk.startFrame},` : "",
  ].join("");
  const poster = chunkMakesPoster(chunks, chunk, plan);
  // The poster's time within the chunk (whose frames start at 0).
  const posterAt = Math.max(0, plan.poster.at - (rate ? frameTime(chunk.startFrame, rate) : 0));
  const branches = rungs.map((_, i) => `[s${i}]`).join("") + (poster ? "[sp]" : "");
  // The first chunk also makes the start of the audio, from a second reading of the source so
  // that the video's decoding stops at the chunk's end (audioStartOf says how far).
  const audioStart = chunk.index === 0 && plan.audioStreamIndex !== null ? audioStartOf(chunks) : null;
  const graph = [
    `[0:${plan.videoStreamIndex}]${videoPreFilters(plan)}${range}split=${rungs.length + (poster ? 1 : 0)}${branches}`,
    ...rungFilters(rungs),
    ...(poster ? [posterFilter(plan, posterAt)] : []),
    ...(audioStart ? [`[1:${plan.audioStreamIndex}]anull[a]`] : []),
  ].join(";");

  // The first chunk starts where the one-pass encode starts, so it forces keyframes the same way.
  const keyframes =
    rate && seeks
      ? {
          keyint: Math.max(plan.gop, maxKeyframeSpacing(rate)),
          forceKeyFrames: chunkKeyframeTimes(chunks, chunk)
            .map((t) => t.toFixed(6))
            .join(","),
        }
      : {
          keyint: rate ? Math.max(plan.gop, maxKeyframeSpacing(rate)) : plan.gop,
          forceKeyFrames: `expr:gte(t,n_forced*${KEYFRAME_SECONDS})`,
        };

  const dash = [
    ...rungs.flatMap((_, i) => ["-map", `[v${i}]`]),
    ...PRIVACY_OPTIONS,
    ...videoCodecOptions(plan, options.x264Preset, keyframes),
    ...threadOptions(options.threads),
    // Frames exactly as the filters made them: a chunk that lost its first frames must show it,
    // not have them filled with copies of a later one.
    ...(seeks ? ["-fps_mode", "passthrough"] : []),
    "-max_muxing_queue_size",
    "4096",
    "-f",
    "dash",
    "-seg_duration",
    String(SEGMENT_SECONDS - KEYFRAME_SECONDS / 2),
    "-use_template",
    "1",
    "-use_timeline",
    "1",
    "-window_size",
    "0",
    "-adaptation_sets",
    "id=0,streams=v",
    "-init_seg_name",
    INIT_SEGMENT_TEMPLATE,
    "-media_seg_name",
    MEDIA_SEGMENT_TEMPLATE,
  ];

  return {
    global: [
      ...PROGRESS_GLOBAL_OPTIONS,
      ...(options.threads ? ["-filter_complex_threads", String(options.threads)] : []),
    ],
    input: {
      source: options.input,
      options: [
        ...(options.inputOptions ?? []),
        ...threadOptions(options.threads),
        // The first chunk's ffmpeg goes on with the audio's start after its video: without an end
        // here it would read and decode the video that far too, for nothing.
        ...(audioStart && chunk.end !== null ? ["-t", String(chunk.end + SEGMENT_SECONDS / 2)] : []),
        ...(seeks
          ? [
              "-copyts",
              "-start_at_zero",
              "-noaccurate_seek",
              "-ss",
              String(Math.max(0, chunk.start - (options.prerollSeconds ?? SEEK_PREROLL_SECONDS))),
            ]
          : []),
      ],
    },
    ...(audioStart
      ? {
          moreInputs: [
            { source: options.input, options: [...(options.inputOptions ?? []), ...threadOptions(options.threads)] },
          ],
        }
      : {}),
    filterGraph: graph,
    outputs: [
      { target: join(options.outDir, CHUNK_MUXER_MANIFEST), options: dash },
      ...(poster ? [{ target: join(options.outDir, POSTER_NAME), options: posterOutputOptions(posterAt) }] : []),
      ...(audioStart ? [audioOutput(plan, options.outDir, options.threads, audioStart.until)] : []),
    ],
  };
}

/**
 * The hls muxer output of an audio encode (the `[a]` branch of the graph): 4 s fMP4 segments
 * numbered from 1 under their final names, the init segment kept with the encoder delay; `until`
 * stops it there (seconds of the track).
 */
function audioOutput(plan: EncodePlan, outDir: string, threads: number | undefined, until: number | null) {
  const id = audioRepresentationId(plan);
  const initName = INIT_SEGMENT_TEMPLATE.replace("$RepresentationID$", id);
  const mediaPattern = MEDIA_SEGMENT_TEMPLATE.replace("$RepresentationID$", id).replace("$Number%05d$", "%05d");
  return {
    target: join(outDir, AUDIO_MUXER_PLAYLIST),
    options: [
      "-map",
      "[a]",
      ...PRIVACY_OPTIONS,
      ...AUDIO_CODEC_OPTIONS,
      ...threadOptions(threads),
      ...(until === null ? [] : ["-t", String(until)]),
      // Keeps the AAC encoder delay as an edit list (media time 1024) instead of shifting it away.
      "-avoid_negative_ts",
      "disabled",
      "-f",
      "hls",
      "-hls_segment_type",
      "fmp4",
      "-hls_time",
      String(SEGMENT_SECONDS),
      "-hls_list_size",
      "0",
      "-hls_playlist_type",
      "vod",
      "-hls_flags",
      "temp_file",
      "-start_number",
      "1",
      "-hls_fmp4_init_filename",
      initName,
      "-hls_segment_filename",
      join(outDir, mediaPattern),
    ],
  };
}

/** The ffmpeg command for the audio unit: the whole track, in segments numbered from 1. */
export function buildAudioCommand(plan: EncodePlan, options: UnitCommandOptions): FfmpegCommandSpec {
  if (plan.audioStreamIndex === null) throw new Error("the source has no audio track");
  return {
    global: PROGRESS_GLOBAL_OPTIONS,
    input: { source: options.input, options: [...(options.inputOptions ?? []), ...threadOptions(options.threads)] },
    // The graph carries the audio only; it is where `-ac`/`-ar` conversions happen anyway.
    filterGraph: `[0:${plan.audioStreamIndex}]anull[a]`,
    outputs: [audioOutput(plan, options.outDir, options.threads, null)],
  };
}
