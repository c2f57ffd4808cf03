/**
 * Runs one unit of chunked encoding (a chunk, or the audio track) and leaves its files in
 * `outDir` under their names in the whole video, ready for the uploader (uploader.ts) to pick up
 * while the encode goes on.
 *
 * ffmpeg writes into a scratch directory of its own; every finished media segment (the muxers
 * write `<name>.tmp` and rename it when complete) is moved to its place in the whole video
 * (fmp4.ts: sequence number and decode times), written to `outDir` as `<name>.tmp` and renamed,
 * and the init segment of its Representation goes before it. Each unit checks what it made: it
 * starts on its first frame, and a chunk that is not the last has exactly its frames.
 */
import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type EncodePlan, INIT_SEGMENT_NAME, MEDIA_SEGMENT_NAME, mediaSegmentName, POSTER_NAME } from "../encode.ts";
import { type FfmpegCommandSpec, startFfmpeg } from "../ffmpeg.ts";
import {
  audioRepresentationId,
  buildAudioCommand,
  buildChunkCommand,
  type ChunkCommandOptions,
  type UnitCommandOptions,
} from "./command.ts";
import { type InitSegmentInfo, placeMediaSegment, readInitSegment, readMediaSegment } from "./fmp4.ts";
import { audioStartOf, type Chunk, type ChunkPlan } from "./plan.ts";

/** One media segment as stored: its number and presentation interval in the Representation's timescale. */
export interface SegmentRecord {
  number: number;
  /** Presentation time of its first sample (may be below 0 for audio: the encoder delay). */
  start: number;
  duration: number;
  bytes: number;
  samples: number;
}

export interface RepresentationOutput {
  id: string;
  init: InitSegmentInfo;
  initName: string;
  /** SHA-256 of the init segment: the same for every chunk of a Representation. */
  initSha256: string;
  segments: SegmentRecord[];
}

export interface UnitOutput {
  representations: RepresentationOutput[];
  /** Every file left in `outDir`, by name. */
  files: string[];
  /** The poster's name when this unit made it. */
  poster: string | null;
}

export interface UnitRunOptions {
  /** Where the unit's scratch directory is made. */
  workDir: string;
  /** Where finished files go, under their final names. */
  outDir: string;
  /** Seconds of the unit's own timeline encoded so far, from ffmpeg's progress. */
  onProgress?: (encodedSeconds: number) => void;
  onStart?: (pid: number | undefined, args: string[]) => void;
  /** A Representation's init segment was found (before any of its media segments is in `outDir`). */
  onInit?: (id: string, init: InitSegmentInfo) => void;
  pollIntervalMs?: number;
}

export interface RunningUnit {
  done: Promise<UnitOutput>;
  pause(): void;
  resume(): void;
  stop(): Promise<void>;
}

/** A unit whose output is not what its plan says; the encode must not be used. */
export class UnitCheckError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UnitCheckError";
  }
}

interface Placement {
  /** Global segment number of the unit's local segment 1. */
  firstSegment: number;
  /** Added to every decode time, in frames of the output (converted per timescale); 0 for audio. */
  startFrame: number;
  frameRate: { num: number; den: number } | null;
  /** Representations of which only the segments up to this number are kept (the first chunk's audio start). */
  lastSegments?: ReadonlyMap<string, number>;
}

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

let written = 0;
async function writeAtomically(dir: string, name: string, bytes: Uint8Array) {
  // Two units may leave the same file in one directory (the first chunk and the audio unit both
  // make the audio's first segments, alike), so each writes through a temporary name of its own.
  const temporary = join(dir, `${name}.${process.pid}-${++written}.tmp`);
  await writeFile(temporary, bytes);
  await rename(temporary, join(dir, name));
}

/** Decode-time offset of a chunk in a timescale: startFrame × timescale × den / num, which must be whole. */
export function decodeTimeOffset(startFrame: number, timescale: number, frameRate: { num: number; den: number }) {
  const ticks = (BigInt(startFrame) * BigInt(timescale) * BigInt(frameRate.den)) / BigInt(frameRate.num);
  if ((BigInt(startFrame) * BigInt(timescale) * BigInt(frameRate.den)) % BigInt(frameRate.num) !== 0n) {
    throw new UnitCheckError(`frame ${startFrame} is not a whole number of ticks at timescale ${timescale}`);
  }
  return Number(ticks);
}

function startUnit(spec: FfmpegCommandSpec, ffDir: string, placement: Placement, options: UnitRunOptions): RunningUnit {
  const reps = new Map<string, RepresentationOutput>();
  const files: string[] = [];
  const inits = new Map<string, Uint8Array>();

  const collect = async (final: boolean) => {
    const names = await readdir(ffDir);
    const media = names
      .map((name) => ({ name, m: MEDIA_SEGMENT_NAME.exec(name) }))
      .filter((x): x is { name: string; m: RegExpExecArray } => x.m !== null)
      .map(({ name, m }) => ({ name, rep: m[1] as string, local: Number(m[2]) }))
      .sort((a, b) => (a.rep === b.rep ? a.local - b.local : a.rep < b.rep ? -1 : 1));
    for (const seg of media) {
      let rep = reps.get(seg.rep);
      if (!rep) {
        // An init segment is complete before the first media segment of its Representation.
        const initName = names.find((n) => INIT_SEGMENT_NAME.exec(n)?.[1] === seg.rep);
        if (!initName) throw new UnitCheckError(`no init segment for Representation ${seg.rep}`);
        const initBytes = await readFile(join(ffDir, initName));
        inits.set(seg.rep, initBytes);
        rep = {
          id: seg.rep,
          init: readInitSegment(initBytes),
          initName,
          initSha256: sha256(initBytes),
          segments: [],
        };
        reps.set(seg.rep, rep);
        options.onInit?.(seg.rep, rep.init);
        await writeAtomically(options.outDir, initName, initBytes);
        files.push(initName);
      }
      const limit = placement.lastSegments?.get(seg.rep);
      if (limit !== undefined && seg.local > limit) {
        // Past what this unit stores of the Representation: the encode was cut there, so this
        // segment may be incomplete; the unit that owns it makes it whole.
        await rm(join(ffDir, seg.name));
        continue;
      }
      const expectedLocal = rep.segments.length + 1;
      if (seg.local !== expectedLocal) {
        throw new UnitCheckError(`Representation ${seg.rep}: segment ${seg.local} came before ${expectedLocal}`);
      }
      const bytes = await readFile(join(ffDir, seg.name));
      const info = readMediaSegment(bytes);
      const offset = placement.frameRate
        ? decodeTimeOffset(placement.startFrame, rep.init.timescale, placement.frameRate)
        : 0;
      const number = placement.firstSegment + seg.local - 1;
      const placed =
        offset === 0 && number === seg.local
          ? bytes
          : placeMediaSegment(bytes, { sequenceNumber: number, decodeTimeOffset: offset });
      const start =
        info.baseMediaDecodeTime + info.firstCompositionOffset - rep.init.editMediaTime + rep.init.presentationDelay;
      if (seg.local === 1 && rep.init.handler === "vide" && start !== 0) {
        throw new UnitCheckError(
          `Representation ${seg.rep} starts ${(start / rep.init.timescale).toFixed(3)} s after the unit's first frame`,
        );
      }
      const name = mediaSegmentName(seg.rep, number);
      await writeAtomically(options.outDir, name, placed);
      await rm(join(ffDir, seg.name));
      files.push(name);
      rep.segments.push({
        number,
        start: start + offset,
        duration: info.duration,
        bytes: bytes.byteLength,
        samples: info.sampleCount,
      });
    }
    if (final && names.includes(POSTER_NAME)) {
      await writeAtomically(options.outDir, POSTER_NAME, await readFile(join(ffDir, POSTER_NAME)));
      files.push(POSTER_NAME);
    }
  };

  let collecting: Promise<void> = Promise.resolve();
  let failure: unknown = null;
  const queueCollect = (final: boolean) => {
    collecting = collecting
      .then(() => (failure ? undefined : collect(final)))
      .catch((err: unknown) => {
        failure ??= err;
      });
    return collecting;
  };

  const ffmpeg = startFfmpeg(spec, {
    onStart: options.onStart,
    onProgress: (fields) => {
      const us = Number(fields.out_time_us);
      if (Number.isFinite(us)) options.onProgress?.(us / 1e6);
    },
  });
  const timer = setInterval(() => {
    if (!failure) void queueCollect(false);
    else void ffmpeg.stop();
  }, options.pollIntervalMs ?? 250);

  const done = (async () => {
    try {
      // A unit stopped because its output failed a check reports that, not the stop.
      await ffmpeg.done.catch((err: unknown) => {
        throw failure ?? err;
      });
      clearInterval(timer);
      await queueCollect(true);
      if (failure) throw failure;
      return {
        representations: [...reps.values()].sort((a, b) => Number(a.id) - Number(b.id)),
        files,
        poster: files.includes(POSTER_NAME) ? POSTER_NAME : null,
      };
    } finally {
      clearInterval(timer);
      await collecting;
      await rm(ffDir, { recursive: true, force: true });
    }
  })();
  done.catch(() => {});
  return { done, pause: ffmpeg.pause, resume: ffmpeg.resume, stop: ffmpeg.stop };
}

/** Output of a chunk unit: every rung's segments of [chunk.start, chunk.end), checked. */
export function startChunkEncode(
  plan: EncodePlan,
  chunks: ChunkPlan,
  chunk: Chunk,
  options: UnitRunOptions & Omit<ChunkCommandOptions, "outDir">,
): RunningUnit {
  return startInScratch(
    `chunk-${chunk.index}-`,
    options,
    (ffDir) => ({
      spec: buildChunkCommand(plan, chunks, chunk, { ...options, outDir: ffDir }),
      placement: {
        firstSegment: chunk.firstSegment,
        startFrame: chunk.startFrame,
        frameRate: chunks.frameRate,
        lastSegments: audioStartSegments(plan, chunks, chunk),
      },
    }),
    (output) => checkChunk(plan, chunks, chunk, output),
  );
}

/** The first chunk keeps the audio segments of its audio start (audioStartOf), when it is not the whole track. */
function audioStartSegments(plan: EncodePlan, chunks: ChunkPlan, chunk: Chunk): Map<string, number> | undefined {
  if (chunk.index !== 0 || plan.audioStreamIndex === null) return undefined;
  const { lastSegment } = audioStartOf(chunks);
  return lastSegment === null ? undefined : new Map([[audioRepresentationId(plan), lastSegment]]);
}

/**
 * A chunk has every rung; one that is not the last has exactly its frames and its segments. The
 * first chunk of a video with sound also has the start of the audio: every segment up to where
 * audioStartOf ends it.
 */
export function checkChunk(plan: EncodePlan, chunks: ChunkPlan, chunk: Chunk, output: UnitOutput) {
  const video = output.representations.filter((r) => r.init.handler === "vide");
  if (video.length !== plan.rungs.length) {
    throw new UnitCheckError(`chunk ${chunk.index} made ${video.length} of ${plan.rungs.length} Representations`);
  }
  if (chunk.index === 0 && plan.audioStreamIndex !== null) {
    const audio = output.representations.find((r) => r.id === audioRepresentationId(plan));
    const { lastSegment } = audioStartOf(chunks);
    const count = audio?.segments.length ?? 0;
    if (count === 0 || (lastSegment !== null && count !== lastSegment)) {
      throw new UnitCheckError(
        `chunk 0 made ${count} segments of the audio's start, expected ${lastSegment ?? "the whole track"}`,
      );
    }
  }
  for (const rep of video) {
    if (chunk.endFrame !== null) {
      const frames = rep.segments.reduce((sum, s) => sum + s.samples, 0);
      if (frames !== chunk.endFrame - chunk.startFrame) {
        throw new UnitCheckError(
          `chunk ${chunk.index}, Representation ${rep.id}: ${frames} frames, expected ${chunk.endFrame - chunk.startFrame}`,
        );
      }
    }
    if (chunk.lastSegment !== null && rep.segments.length !== chunk.lastSegment - chunk.firstSegment + 1) {
      throw new UnitCheckError(
        `chunk ${chunk.index}, Representation ${rep.id}: ${rep.segments.length} segments, expected ${chunk.lastSegment - chunk.firstSegment + 1}`,
      );
    }
  }
}

/** Output of the audio unit: the whole track, segments numbered from 1. */
export function startAudioEncode(
  plan: EncodePlan,
  options: UnitRunOptions & Omit<UnitCommandOptions, "outDir">,
): RunningUnit {
  return startInScratch(
    "audio-",
    options,
    (ffDir) => ({
      spec: buildAudioCommand(plan, { ...options, outDir: ffDir }),
      placement: { firstSegment: 1, startFrame: 0, frameRate: null },
    }),
    (output) => {
      if (output.representations.length !== 1 || output.representations[0]?.id !== audioRepresentationId(plan)) {
        throw new UnitCheckError("the audio unit made no audio Representation");
      }
    },
  );
}

/** Makes the unit's scratch directory, starts the unit in it and checks its output at the end. */
function startInScratch(
  prefix: string,
  options: UnitRunOptions,
  build: (ffDir: string) => { spec: FfmpegCommandSpec; placement: Placement },
  check: (output: UnitOutput) => void,
): RunningUnit {
  let running: RunningUnit | undefined;
  let stopped = false;
  const done = (async () => {
    const ffDir = await mkdtemp(join(options.workDir, prefix));
    const { spec, placement } = build(ffDir);
    running = startUnit(spec, ffDir, placement, options);
    if (stopped) void running.stop();
    const output = await running.done;
    check(output);
    return output;
  })();
  done.catch(() => {});
  return {
    done,
    pause: () => running?.pause(),
    resume: () => running?.resume(),
    stop: async () => {
      stopped = true;
      await running?.stop();
      await done.catch(() => {});
    },
  };
}
