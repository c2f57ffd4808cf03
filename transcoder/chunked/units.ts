/**
 * The units of a chunked encode as a runner works them, each reporting to its own unit API:
 *
 * - `probe`: ffprobe the source over HTTP, refuse what cannot be played, plan the ladder and the
 *   chunks; `unit_done` says how many chunks there are and whether there is sound, and carries
 *   the probed source, from which every later unit plans the same encode without probing again.
 * - `chunk`: one time range of every rung (run.ts), segments uploaded as they are finished;
 *   `unit_done` carries its segments' numbers, times and sizes and its init segments. The first
 *   chunk also stores the start of the audio, and once the start is stored, manifests predicted
 *   for the whole video, and says so with a `playable` event (start.ts): the video plays from
 *   then on while the rest is encoded.
 * - `audio`: the whole sound track, likewise.
 * - `finalize`: gets those results in its input, checks they make one continuous presentation,
 *   and stores the static manifests with measured peak bandwidths (the MPD last); `completed`
 *   publishes the version.
 */
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import type { ChunkedUnitInput, EncodedRendition, JobEvent, UnitAssignment } from "../../shared/protocol.ts";
import { type EncodePlan, httpInputOptions, MANIFEST_NAME, POSTER_NAME, planEncode } from "../encode.ts";
import { ffmpegFailure } from "../encode-session.ts";
import { JobFailure } from "../failure.ts";
import { FfmpegError } from "../ffmpeg.ts";
import { createJobApiClient, type JobApiClient } from "../job-api.ts";
import { displaySize } from "../ladder.ts";
import { createRunReporter, type RunContext, reportRunEnd } from "../pipeline.ts";
import { inspectSource } from "../probe.ts";
import type { JobReporter } from "../report.ts";
import { settingsFromEnv, type TranscoderSettings } from "../settings.ts";
import type { SourceInfo } from "../source.ts";
import { startUploader } from "../uploader.ts";
import type { InitSegmentInfo } from "./fmp4.ts";
import { assemblePresentation, buildManifests, type PresentationDescription, PresentationError } from "./manifests.ts";
import { type ChunkPlan, planChunks } from "./plan.ts";
import { type RunningUnit, startAudioEncode, startChunkEncode, UnitCheckError, type UnitOutput } from "./run.ts";
import { watchStart } from "./start.ts";

interface Planned {
  source: SourceInfo;
  plan: EncodePlan;
  chunks: ChunkPlan;
}

/** The encode as the probe planned it, from a unit's input. */
function plannedFrom(unit: UnitAssignment): Planned {
  const input = unit.input as unknown as ChunkedUnitInput;
  const source = input.source as unknown as SourceInfo;
  if (!source?.video) throw new JobFailure("transcode_failed", `The ${unit.kind} unit came without its probed source.`);
  return planFrom(source, unit.maxHeight, input);
}

function planFrom(
  source: SourceInfo,
  maxHeight: number,
  chunking: ChunkedUnitInput | UnitAssignment["input"],
): Planned {
  const plan = planEncode(source, maxHeight);
  const chunks = planChunks(
    { duration: source.duration, frameRate: plan.frameRate },
    {
      firstChunkSeconds: Number(chunking.firstChunkSeconds) || undefined,
      chunkSeconds: Number(chunking.chunkSeconds) || undefined,
    },
  );
  return { source, plan, chunks };
}

async function probe(unit: UnitAssignment, api: JobApiClient, ctx: RunContext, progress: JobReporter) {
  progress.progress(0, "probing");
  const source = await inspectSource(api.source, {
    maxDurationSeconds: unit.maxDurationSeconds,
    readHead: (length, signal) => api.readSourceHead(length, signal),
    signal: ctx.signal,
  });
  const { plan, chunks } = planFrom(source, unit.maxHeight, unit.input);
  ctx.log("source probed", {
    duration: source.duration,
    video: `${source.video.codec} ${source.video.width}x${source.video.height}`,
    rungs: plan.rungs.map((r) => `${r.width}x${r.height}`),
    chunks: chunks.chunks.length,
  });
  const result = {
    source: source as unknown as Record<string, unknown>,
    chunks: chunks.chunks.length,
    audio: plan.audioStreamIndex !== null,
    rungs: plan.rungs.length,
  };
  return { type: "unit_done", result, files: [] } satisfies JobEvent;
}

/** A chunk or the audio track: ffmpeg into a scratch folder, finished files uploaded as they come. */
async function encode(
  unit: UnitAssignment,
  api: JobApiClient,
  ctx: RunContext,
  progress: JobReporter,
  settings: TranscoderSettings,
): Promise<JobEvent> {
  const { plan, chunks } = plannedFrom(unit);
  const index = Number((unit.input as unknown as ChunkedUnitInput).chunk ?? 0);
  const chunk = unit.kind === "chunk" ? chunks.chunks[index] : undefined;
  if (unit.kind === "chunk" && !chunk) {
    throw new JobFailure("transcode_failed", `The plan has no chunk ${index} (${chunks.chunks.length} chunks).`);
  }
  const seconds = chunk
    ? (chunk.end ?? chunks.duration ?? chunk.start + 1) - chunk.start
    : (chunks.duration ?? 0) || Number.POSITIVE_INFINITY;
  const scratch = await mkdtemp(join(settings.workDir, `streambuddy-${unit.kind}-`));
  const stop = new AbortController();
  const stopUnit = () => stop.abort(ctx.signal.reason);
  ctx.signal.addEventListener("abort", stopUnit, { once: true });
  let running: RunningUnit | undefined;
  try {
    const outDir = join(scratch, "out");
    const workDir = join(scratch, "work");
    await Promise.all([mkdir(outDir), mkdir(workDir)]);
    // The first chunk publishes the start of the video once it is stored (start.ts).
    const start = chunk?.index === 0 ? watchStart(plan, chunks, api, stop.signal, ctx.log) : null;
    const uploader = startUploader({
      dir: outDir,
      api,
      concurrency: settings.uploadConcurrency,
      maxPendingBytes: settings.maxPendingBytes,
      signal: stop.signal,
      onFatal: (err) => {
        ctx.log("upload failed", { error: err.message });
        stop.abort(err);
      },
      onStored: (name) => start?.onStored(name),
    });
    uploader.watchBackpressure((pause) => (pause ? running?.pause() : running?.resume()));
    const options = {
      input: api.source.url,
      inputOptions: httpInputOptions(api.source.token),
      workDir,
      outDir,
      x264Preset: settings.x264Preset,
      onStart: (pid: number | undefined) => ctx.log("ffmpeg started", { pid, kind: unit.kind, chunk: chunk?.index }),
      onProgress: (done: number) => progress.progress((done / seconds) * 100, "encoding"),
      onInit: (id: string, init: InitSegmentInfo) => start?.onInit(id, init),
    };
    progress.progress(0, "encoding");
    const started = chunk ? startChunkEncode(plan, chunks, chunk, options) : startAudioEncode(plan, options);
    running = started;
    stop.signal.addEventListener("abort", () => void started.stop(), { once: true });
    let output: UnitOutput;
    try {
      output = await started.done;
    } catch (err) {
      if (uploader.failure) throw uploader.failure;
      if (stop.signal.aborted) throw err;
      if (err instanceof UnitCheckError)
        throw new JobFailure("transcode_failed", `Encoding went wrong (${err.message}).`);
      if (err instanceof FfmpegError) throw ffmpegFailure(err);
      throw err;
    }
    progress.progress(99, "uploading");
    await uploader.finish();
    // The uploader picks up segments as they are finished; the poster is stored once it is complete.
    if (output.poster) await uploader.uploadNow(output.poster);
    const { files: _local, ...result } = output;
    const manifests = (await start?.finish()) ?? [];
    return { type: "unit_done", result, files: [...uploader.uploaded.keys(), ...manifests] };
  } finally {
    ctx.signal.removeEventListener("abort", stopUnit);
    if (!stop.signal.aborted) stop.abort(new Error("the unit is over"));
    await running?.stop();
    await rm(scratch, { recursive: true, force: true });
  }
}

/** The published version's renditions, as the one-pass encode reports them. */
export function renditionsOf(p: PresentationDescription): EncodedRendition[] {
  return [...p.video, ...(p.audio ? [p.audio] : [])].map((t) => ({
    id: t.id,
    kind: t.kind,
    width: t.width,
    height: t.height,
    bandwidth: t.bandwidth,
    codecs: t.codecs,
  }));
}

async function finalize(unit: UnitAssignment, api: JobApiClient, ctx: RunContext): Promise<JobEvent> {
  const { source, plan, chunks } = plannedFrom(unit);
  const outputs = (unit.input as unknown as ChunkedUnitInput).outputs ?? [];
  const chunkOutputs = outputs
    .filter((o) => o.kind === "chunk")
    .sort((a, b) => a.sequence - b.sequence)
    .map((o) => o.result as UnitOutput);
  const audio = (outputs.find((o) => o.kind === "audio")?.result as UnitOutput | undefined) ?? null;
  let presentation: PresentationDescription;
  try {
    presentation = assemblePresentation(plan, chunks, chunkOutputs, audio);
  } catch (err) {
    if (err instanceof PresentationError) {
      throw new JobFailure("transcode_failed", `The encoded parts do not fit together (${err.message}).`);
    }
    throw err;
  }
  const manifests = buildManifests(presentation, MANIFEST_NAME);
  // The MPD last (buildManifests puts it last): once it is stored, everything it points to is.
  for (const [name, text] of manifests) {
    await api.putFile(name, new TextEncoder().encode(text), ctx.signal);
  }
  const shown = displaySize(source.video);
  const lastEnd = presentation.video[0]?.segments.at(-1);
  const timescale = chunkOutputs[0]?.representations[0]?.init.timescale ?? 0;
  const encoded = lastEnd && timescale ? (lastEnd.start + lastEnd.duration) / timescale : 0;
  return {
    type: "completed",
    duration: Math.round((source.duration ?? encoded) * 1000) / 1000,
    width: Math.round(shown.width),
    height: Math.round(shown.height),
    renditions: renditionsOf(presentation),
    files: [...manifests.keys()],
    poster: chunkOutputs.some((o) => o.poster === POSTER_NAME) ? POSTER_NAME : null,
  };
}

/** Runs a `probe`, `chunk`, `audio` or `finalize` unit to its final event. */
export async function runChunkedUnit(unit: UnitAssignment, ctx: RunContext): Promise<void> {
  const settings: TranscoderSettings = { ...settingsFromEnv(process.env), ...ctx.settings };
  const log: RunContext["log"] = (msg, fields) => ctx.log(msg, { kind: unit.kind, ...fields });
  const unitCtx = { ...ctx, log };
  const api = createJobApiClient(unit, { fetch: ctx.fetch, log });
  const report = createRunReporter(api, unitCtx, log);
  ctx.onStatus({ state: "running", progress: 0, error: null });
  try {
    let event: JobEvent;
    if (unit.kind === "probe") event = await probe(unit, api, unitCtx, report);
    else if (unit.kind === "finalize") event = await finalize(unit, api, unitCtx);
    else event = await encode(unit, api, unitCtx, report, settings);
    await report.stop();
    await api.postEvent(event, { signal: ctx.signal });
    log("unit done", { files: "files" in event ? event.files.length : 0 });
    ctx.onStatus({ state: "completed", progress: 100, error: null });
  } catch (err) {
    await reportRunEnd(report, unitCtx, err);
  } finally {
    await report.stop();
  }
}
