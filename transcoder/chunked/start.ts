/**
 * The start of a chunked encode, published by its first chunk as soon as it is stored: the init
 * segment and the first media segment of every rung and of the audio, enough for a player to
 * show the first frames in whichever rung it starts with. The chunk's later segments follow as
 * ffmpeg finishes them (a player asking for one first waits for it in the Worker). Then the manifests of the whole video as predicted from the plan (predictPresentation: every
 * rung at its VBV cap) are stored, the MPD last, and a `playable` event tells the Worker, which
 * serves the video from then on while the rest is encoded. The first chunk's ffmpeg meanwhile
 * goes on with the rest of the audio's start (audioStartOf).
 *
 * Nothing is published for a video whose timeline cannot be known in advance (no frame rate or
 * duration): it plays once it is ready. A video that is one chunk has its start when the chunk
 * is over.
 */
import { type EncodePlan, initSegmentName, MANIFEST_NAME, mediaSegmentName } from "../encode.ts";
import type { JobApiClient } from "../job-api.ts";
import { audioRepresentationId } from "./command.ts";
import type { InitSegmentInfo } from "./fmp4.ts";
import { buildManifests, predictPresentation } from "./manifests.ts";
import type { Chunk, ChunkPlan } from "./plan.ts";

export interface StartWatch {
  /** For the unit's run: each Representation's init segment as it is found. */
  onInit(id: string, init: InitSegmentInfo): void;
  /** For the uploader: each file once it is stored. */
  onStored(name: string): void;
  /** Publishes now if it has not yet (the unit is over, everything is stored); resolves with the manifests' names. */
  finish(): Promise<string[]>;
}

/** The files that make the start: every rung's and the audio's init segment and first media segment. */
export function startFiles(plan: EncodePlan, first: Chunk): string[] | null {
  if (first.lastSegment === null) return null;
  const ids = [
    ...plan.rungs.map((_, i) => String(i)),
    ...(plan.audioStreamIndex !== null ? [audioRepresentationId(plan)] : []),
  ];
  return ids.flatMap((id) => [initSegmentName(id), mediaSegmentName(id, 1)]);
}

/**
 * Watches the first chunk's files go into storage and publishes the start once they are all
 * there; `log` hears of it. A failure to publish fails the unit (the caller awaits `finish`).
 */
export function watchStart(
  plan: EncodePlan,
  chunks: ChunkPlan,
  api: JobApiClient,
  signal: AbortSignal,
  log: (msg: string, fields?: Record<string, unknown>) => void,
): StartWatch {
  const first = chunks.chunks[0] as Chunk;
  const predictable = chunks.frameRate !== null && Boolean(chunks.duration);
  const needed = startFiles(plan, first);
  const representations = plan.rungs.length + (plan.audioStreamIndex !== null ? 1 : 0);
  const inits = new Map<string, InitSegmentInfo>();
  const stored = new Set<string>();
  let publishing: Promise<string[]> | null = null;

  const publish = () => {
    publishing ??= (async () => {
      const manifests = buildManifests(predictPresentation(plan, chunks, inits), MANIFEST_NAME);
      for (const [name, text] of manifests) await api.putFile(name, new TextEncoder().encode(text), signal);
      const files = [...stored, ...manifests.keys()];
      await api.postEvent({ type: "playable", files }, { signal });
      log("start published", { files: files.length });
      return [...manifests.keys()];
    })();
    // Awaited by finish(); a failure before that must not go unhandled.
    publishing.catch(() => {});
    return publishing;
  };
  const ready = () =>
    predictable && needed !== null && inits.size === representations && needed.every((n) => stored.has(n));

  return {
    onInit(id, init) {
      inits.set(id, init);
      if (ready()) void publish();
    },
    onStored(name) {
      stored.add(name);
      if (ready()) void publish();
    },
    async finish() {
      if (!predictable || inits.size !== representations) return [];
      return publish();
    },
  };
}
