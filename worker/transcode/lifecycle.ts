/**
 * The life of a transcode job, its work units and its video, in one module:
 *
 *   requested → (queue) units created → claimed → progress (lease renewed) → unit done → job completed
 *                                        ↘ unit failed / lease expired / runner lost or revoked → pending again
 *                                        ↘ last attempt, too many lost leases, or the video's own fault → job failed
 *   reprocess with other parameters, or the video deleted → job cancelled
 *
 * Each transition is one guarded write: a compare-and-set on the unit's id, attempt and the
 * states it may leave, with every other row that changes with it in the same D1 batch, guarded
 * by the unit having made its step. Side effects sit beside the transition that causes them:
 * deleting a failed or superseded version's objects, the owner's webhook, waking runners. The
 * video's state always comes from {@link videoStateFor}. Routes, the queue consumer and the
 * cron sweep only adapt requests and messages to these functions.
 */
import { and, count, eq, getTableColumns, inArray, isNull, ne, notInArray, type SQL, sql } from "drizzle-orm";
import type {
  ChunkedUnitInput,
  ChunkingInput,
  EncodedRendition,
  FailureCode,
  ProbeResult,
  Storyboard,
  UnitKind,
} from "../../shared/protocol";
import type { Logger } from "../app/logger";
import type { Settings } from "../app/settings";
import type { Database } from "../db/client";
import {
  ACTIVE_JOB_STATUSES,
  type Job,
  type JobStatus,
  jobs,
  type Runner,
  type RunnerKind,
  renditions,
  runners,
  type UnitStatus,
  type Video,
  videos,
  type WorkUnit,
  workUnits,
} from "../db/schema";
import type { RunnerHubStub } from "../durable/runner-hub";
import { versionPrefix } from "../storage/keys";
import { deletePrefix } from "../storage/prefix";
import type { ObjectStore } from "../storage/store";
import type { WebhookEventType, WebhookMessage } from "../webhooks/webhooks";
import type { RunnerPool } from "./runner-pool";
import { nextPendingUnitId } from "./scheduler";
import { type VideoState, videoStateFor } from "./video-state";

/** How runners hear of work. */
export interface RunnerSignals {
  hub: RunnerHubStub;
  pool: RunnerPool;
  /** Units became pending: waiting claims look again, and the pool starts runners for them. */
  wake(): Promise<void>;
}

/** What the transitions work with; `Services` provides all of it. */
export interface TranscodeDeps {
  db: Database;
  storage: ObjectStore;
  settings: Settings;
  logger: Logger;
  queues: { transcode: Queue; webhooks: Queue };
  runners: RunnerSignals;
  /** Runs work that need not hold up the caller (cleanup, waking); awaited in place when absent. */
  later?: (what: string, task: Promise<unknown>) => Promise<void>;
}

/** A reprocess of a video that already plays waits behind new uploads in its round. */
export const REPROCESS_PRIORITY = -1;

export function newVersion(now = Date.now()): string {
  const random = crypto.getRandomValues(new Uint8Array(4));
  return `v${now.toString(36)}${[...random].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}

async function afterwards(deps: TranscodeDeps, what: string, task: Promise<unknown>) {
  if (deps.later) return deps.later(what, task);
  await task.catch((err: unknown) => deps.logger.warn(`${what} failed`, { error: String(err) }));
}

const wakeRunners = (deps: TranscodeDeps) => afterwards(deps, "waking runners", deps.runners.wake());

/** The owner's webhook hears of the video (`video.ready`, `video.failed`), through the webhooks queue. */
export async function announce(
  deps: { queues: { webhooks: Queue } },
  type: WebhookEventType,
  video: { id: string; ownerId: string },
  now: number,
) {
  const message: WebhookMessage = {
    type,
    videoId: video.id,
    userId: video.ownerId,
    occurredAt: new Date(now).toISOString(),
  };
  await deps.queues.webhooks.send(message);
}

// ── Guards and row writers shared by the transitions ─────────────────────────────────────────────

/** True once the unit is in `status` at `attempt`: what every companion write of a step checks. */
const unitIs = (unitId: string, attempt: number, status: UnitStatus) =>
  sql`EXISTS (SELECT 1 FROM work_units g WHERE g.id = ${unitId} AND g.attempt = ${attempt} AND g.status = ${status})`;

/** The unit as it was read, still in one of these states: the compare-and-set of every step. */
const unitStill = (unit: WorkUnit, from: UnitStatus[]) =>
  and(eq(workUnits.id, unit.id), eq(workUnits.attempt, unit.attempt), inArray(workUnits.status, from));

/** The mean of the job's units' progress, done units counting 100. */
const jobProgress = (jobId: string) =>
  sql`(SELECT coalesce(cast(avg(CASE WHEN p.status = 'done' THEN 100 ELSE p.progress END) AS integer), 0)
       FROM work_units p WHERE p.job_id = ${jobId} AND p.status != 'cancelled')`;

type VideoRef = Pick<Video, "id" | "version" | "ownerId">;

/**
 * The video's state for this job, written only while it still serves the version it was read
 * with (compare-and-set on the version) and `guard` holds.
 */
function writeVideoState(
  db: Database,
  video: VideoRef,
  jobId: string,
  state: VideoState,
  guard: SQL | undefined,
  now: number,
  published: Partial<typeof videos.$inferInsert> = {},
) {
  return db
    .update(videos)
    .set({
      status: state.status,
      progress: state.progress === "job" ? sql`(SELECT j.progress FROM jobs j WHERE j.id = ${jobId})` : state.progress,
      errorCode: state.errorCode,
      errorMessage: state.errorMessage,
      updatedAt: new Date(now),
      ...published,
    })
    .where(
      and(
        eq(videos.id, video.id),
        video.version === null ? isNull(videos.version) : eq(videos.version, video.version),
        guard,
      ),
    );
}

/** The runner no longer holds this unit as its current one. */
const releaseCurrentUnit = (db: Database, runnerId: string | null, unitId: string) =>
  db
    .update(runners)
    .set({ currentUnitId: null })
    .where(and(eq(runners.id, runnerId ?? ""), eq(runners.currentUnitId, unitId)));

// ── Reading a unit with what its transitions need ────────────────────────────────────────────────

/** A unit with its job, its video, and (when asked for) a runner: what each transition reads first. */
export interface UnitContext {
  unit: WorkUnit;
  job: Job;
  video: VideoRef;
  /** The runner named by the caller (a unit token's), or else the one holding the unit. */
  runner: Pick<Runner, "id" | "kind" | "revokedAt"> | null;
}

async function unitContexts(db: Database, where: SQL | undefined, runnerId?: string, limit = 100) {
  const rows = await db
    .select({
      unit: workUnits,
      job: jobs,
      video: { id: videos.id, version: videos.version, ownerId: videos.ownerId },
      runner: { id: runners.id, kind: runners.kind, revokedAt: runners.revokedAt },
    })
    .from(workUnits)
    .innerJoin(jobs, eq(jobs.id, workUnits.jobId))
    .innerJoin(videos, eq(videos.id, workUnits.videoId))
    .leftJoin(runners, runnerId === undefined ? eq(runners.id, workUnits.runnerId) : eq(runners.id, runnerId))
    .where(where)
    .limit(limit)
    .all();
  return rows.map((r) => ({ ...r, runner: r.runner?.id ? r.runner : null }) as UnitContext);
}

export async function loadUnitContext(db: Database, unitId: string, runnerId?: string) {
  const [ctx] = await unitContexts(db, eq(workUnits.id, unitId), runnerId, 1);
  return ctx;
}

export async function activeJobFor(db: Database, videoId: string): Promise<Job | undefined> {
  return db
    .select()
    .from(jobs)
    .where(and(eq(jobs.videoId, videoId), inArray(jobs.status, ACTIVE_JOB_STATUSES)))
    .get();
}

// ── Requested ─────────────────────────────────────────────────────────────────────────────────────

/**
 * A new version is asked for (an upload finished, or a reprocess): the job, unless the video has
 * an unfinished one already (the unique index on unfinished jobs keeps it to one); the video's
 * state; the queue message that gets its units created. Its parameters are fixed here: the top
 * rung is the video's max_resolution now.
 */
export async function requestTranscode(
  db: Database,
  queue: Queue,
  videoId: string,
  options: { priority?: number; now?: number } = {},
): Promise<Job> {
  const now = options.now ?? Date.now();
  const video = await db.select().from(videos).where(eq(videos.id, videoId)).get();
  if (!video) throw new Error(`no video ${videoId} to transcode`);
  const id = crypto.randomUUID();
  const created = sql`EXISTS (SELECT 1 FROM jobs n WHERE n.id = ${id})`;
  await db.batch([
    db
      .insert(jobs)
      .values({
        id,
        videoId,
        version: newVersion(now),
        status: "queued",
        maxHeight: video.maxResolution,
        priority: options.priority ?? 0,
        createdAt: new Date(now),
        updatedAt: new Date(now),
      })
      .onConflictDoNothing(),
    writeVideoState(db, video, id, videoStateFor(video.version, { status: "queued" }), created, now),
  ]);
  const job = await activeJobFor(db, videoId);
  if (!job) throw new Error(`no unfinished job for video ${videoId} after the request`);
  await queue.send({ videoId });
  return job;
}

/**
 * The owner asked for a new version. An unfinished job that makes the same one (the same top
 * rung) stands, and asking again starts nothing more; one with other parameters is cancelled and
 * replaced. A video that already plays keeps playing its version meanwhile.
 */
export async function reprocess(deps: TranscodeDeps, videoId: string, now = Date.now()) {
  const { db } = deps;
  const video = await db.select().from(videos).where(eq(videos.id, videoId)).get();
  if (!video) throw new Error(`no video ${videoId} to reprocess`);
  const active = await activeJobFor(db, videoId);
  if (active && active.maxHeight === video.maxResolution) {
    // The message finds the job's units and creates nothing new.
    await deps.queues.transcode.send({ videoId });
    return { job: active, replaced: null };
  }
  if (active) await cancelJob(deps, active, "replaced by a reprocess with other parameters", now);
  const job = await requestTranscode(db, deps.queues.transcode, videoId, {
    priority: video.version ? REPROCESS_PRIORITY : 0,
    now,
  });
  return { job, replaced: active ?? null };
}

// ── Units created ─────────────────────────────────────────────────────────────────────────────────

/** A unit to create: its kind, its place within the job, its input. */
export interface PlannedUnit {
  kind: UnitKind;
  sequence: number;
  input: Record<string, unknown>;
}

/** The first chunk of a chunked encode, seconds: short, so the start of the video is ready first. */
export const FIRST_CHUNK_SECONDS = 8;

/**
 * The units a job starts with: one `encode` unit, or with chunked encoding a `probe` unit whose
 * result makes the others ({@link unitsAfterProbe}).
 */
export function planUnits(_job: Job, settings: Settings): PlannedUnit[] {
  if (!settings.units.chunked) return [{ kind: "encode", sequence: 0, input: {} }];
  const chunking: ChunkingInput = { firstChunkSeconds: FIRST_CHUNK_SECONDS, chunkSeconds: settings.units.chunkSeconds };
  return [{ kind: "probe", sequence: 0, input: chunking }];
}

/**
 * What a probe's result asks for: one `chunk` unit per chunk (sequence = its index), one `audio`
 * unit when the source has sound, and the `finalize` unit, which the scheduler holds back until
 * all of them are done. Each gets the chunking and the probed source.
 */
export function unitsAfterProbe(probeInput: ChunkingInput, probe: ProbeResult): PlannedUnit[] {
  const common: ChunkedUnitInput = {
    firstChunkSeconds: probeInput.firstChunkSeconds,
    chunkSeconds: probeInput.chunkSeconds,
    source: probe.source,
  };
  return [
    ...Array.from({ length: probe.chunks }, (_, i) => ({
      kind: "chunk" as const,
      sequence: i,
      input: { ...common, chunk: i },
    })),
    ...(probe.audio ? [{ kind: "audio" as const, sequence: 0, input: { ...common } }] : []),
    { kind: "finalize", sequence: 0, input: { ...common } },
  ];
}

/** The unit's input as its runner gets it: a `finalize` unit's carries the outputs of the units before it. */
export async function assignedInput(db: Database, unit: WorkUnit): Promise<Record<string, unknown>> {
  const input = JSON.parse(unit.input) as Record<string, unknown>;
  if (unit.kind !== "finalize") return input;
  const done = await db
    .select({ kind: workUnits.kind, sequence: workUnits.sequence, result: workUnits.result })
    .from(workUnits)
    .where(
      and(eq(workUnits.jobId, unit.jobId), inArray(workUnits.kind, ["chunk", "audio"]), eq(workUnits.status, "done")),
    )
    .orderBy(workUnits.kind, workUnits.sequence)
    .all();
  const outputs = done.map((u) => ({ kind: u.kind, sequence: u.sequence, result: JSON.parse(u.result ?? "null") }));
  return { ...input, outputs };
}

/** Rows per statement when units are inserted from a SELECT: D1 binds at most 100 values per statement. */
const UNITS_PER_INSERT = 25;

/**
 * Inserts units for a job, only while `guard` holds: statements for a batch with the step that
 * asks for them. Each row binds its id, kind and input; what they share is bound once.
 */
function insertUnitsWhen(
  db: Database,
  job: Pick<Job, "id" | "videoId" | "priority">,
  ownerId: string,
  units: PlannedUnit[],
  guard: SQL,
  now: number,
) {
  const shared: Partial<Record<keyof WorkUnit, SQL>> = {
    jobId: sql`${job.id}`,
    videoId: sql`${job.videoId}`,
    ownerId: sql`${ownerId}`,
    priority: sql.raw(String(Math.trunc(job.priority))),
    status: sql.raw("'pending'"),
    attempt: sql.raw("0"),
    failures: sql.raw("0"),
    leaseExpiries: sql.raw("0"),
    progress: sql.raw("0"),
    createdAt: sql.raw(String(Math.trunc(now))),
    updatedAt: sql.raw(String(Math.trunc(now))),
    // From the VALUES list below.
    id: sql.raw("v.column1"),
    kind: sql.raw("v.column2"),
    sequence: sql.raw("v.column3"),
    input: sql.raw("v.column4"),
  };
  // An insert from a SELECT names every column, in the table's order.
  const columns = sql.join(
    (Object.keys(getTableColumns(workUnits)) as (keyof WorkUnit)[]).map((c) => shared[c] ?? sql.raw("NULL")),
    sql`, `,
  );
  const statements = [];
  for (let i = 0; i < units.length; i += UNITS_PER_INSERT) {
    const rows = units
      .slice(i, i + UNITS_PER_INSERT)
      .map(
        (u) =>
          sql`(${crypto.randomUUID()}, ${u.kind}, ${sql.raw(String(Math.trunc(u.sequence)))}, ${JSON.stringify(u.input)})`,
      );
    statements.push(
      db
        .insert(workUnits)
        .select(sql`SELECT ${columns} FROM (VALUES ${sql.join(rows, sql`, `)}) v WHERE ${guard}`)
        .onConflictDoNothing(),
    );
  }
  return statements;
}

/**
 * The queue's message for a video: its unfinished job's units, created once (a duplicate
 * delivery inserts nothing), then runners are woken.
 */
export async function createUnits(deps: TranscodeDeps, videoId: string, now = Date.now()) {
  const { db } = deps;
  const row = await db
    .select({ job: jobs, ownerId: videos.ownerId })
    .from(jobs)
    .innerJoin(videos, eq(videos.id, jobs.videoId))
    .where(and(eq(jobs.videoId, videoId), inArray(jobs.status, ACTIVE_JOB_STATUSES)))
    .get();
  if (!row) return { job: undefined, created: 0 };
  const { job, ownerId } = row;
  // A job keeps the units it was given, even if CHUNKED_ENCODING changed since.
  const existing = await db.select({ n: count() }).from(workUnits).where(eq(workUnits.jobId, job.id)).get();
  if ((existing?.n ?? 0) > 0) return { job, created: 0 };
  const created = await db
    .insert(workUnits)
    .values(
      planUnits(job, deps.settings).map((u) => ({
        id: crypto.randomUUID(),
        jobId: job.id,
        videoId,
        ownerId,
        kind: u.kind,
        sequence: u.sequence,
        priority: job.priority,
        input: JSON.stringify(u.input),
        createdAt: new Date(now),
        updatedAt: new Date(now),
      })),
    )
    .onConflictDoNothing()
    .returning({ id: workUnits.id });
  if (created.length > 0) {
    deps.logger.info("units created", { videoId, jobId: job.id, units: created.length, version: job.version });
    await wakeRunners(deps);
  }
  return { job, created: created.length };
}

// ── Claimed ──────────────────────────────────────────────────────────────────────────────────────

/**
 * Takes the next unit in the fair order for this runner, in one statement (two runners never get
 * the same unit): a new attempt under a fresh lease. The job starts running, the video processing.
 */
export async function claimUnit(deps: TranscodeDeps, runner: Pick<Runner, "id">, now = Date.now()) {
  const { db, settings } = deps;
  const [unit] = await db
    .update(workUnits)
    .set({
      status: "running",
      runnerId: runner.id,
      attempt: sql`${workUnits.attempt} + 1`,
      leaseUntil: new Date(now + settings.units.leaseSeconds * 1000),
      claimedAt: new Date(now),
      startedAt: null,
      progress: 0,
      updatedAt: new Date(now),
    })
    .where(and(sql`${workUnits.id} = ${nextPendingUnitId}`, eq(workUnits.status, "pending")))
    .returning();
  if (!unit) return null;
  const [ctx] = await unitContexts(db, eq(workUnits.id, unit.id), runner.id, 1);
  if (!ctx) return null;
  await db.batch([
    db
      .update(jobs)
      .set({ status: "running", updatedAt: new Date(now) })
      .where(and(eq(jobs.id, unit.jobId), eq(jobs.status, "queued"))),
    writeVideoState(
      db,
      ctx.video,
      unit.jobId,
      videoStateFor(ctx.video.version, { status: "running" }),
      unitIs(unit.id, unit.attempt, "running"),
      now,
    ),
    db
      .update(runners)
      .set({ currentUnitId: unit.id, lastContactAt: new Date(now) })
      .where(eq(runners.id, runner.id)),
  ]);
  deps.logger.info("unit claimed", {
    unitId: unit.id,
    jobId: unit.jobId,
    videoId: unit.videoId,
    runnerId: runner.id,
    attempt: unit.attempt,
    kind: unit.kind,
  });
  return { ...ctx, job: { ...ctx.job, status: "running" as JobStatus } };
}

// ── Lease renewed ────────────────────────────────────────────────────────────────────────────────

/** Progress from the unit's runner: the lease is renewed, the job's and the video's progress follow. */
export async function recordProgress(deps: TranscodeDeps, ctx: UnitContext, progress: number, now = Date.now()) {
  const { db, settings } = deps;
  const { unit, video } = ctx;
  const pct = Math.max(0, Math.min(99, Math.floor(progress)));
  const stepped = unitIs(unit.id, unit.attempt, "running");
  const [renewed] = await db.batch([
    db
      .update(workUnits)
      .set({
        progress: pct,
        leaseUntil: new Date(now + settings.units.leaseSeconds * 1000),
        startedAt: sql`coalesce(${workUnits.startedAt}, ${now})`,
        updatedAt: new Date(now),
      })
      .where(and(unitStill(unit, ["running"]), eq(workUnits.runnerId, unit.runnerId ?? "")))
      .returning({ id: workUnits.id }),
    db
      .update(jobs)
      .set({ status: "running", progress: jobProgress(unit.jobId), updatedAt: new Date(now) })
      .where(and(eq(jobs.id, unit.jobId), inArray(jobs.status, ACTIVE_JOB_STATUSES), stepped)),
    writeVideoState(db, video, unit.jobId, videoStateFor(video.version, { status: "running" }), stepped, now),
    db
      .update(runners)
      .set({ lastContactAt: new Date(now) })
      .where(eq(runners.id, unit.runnerId ?? "")),
  ]);
  return renewed.length > 0;
}

// ── Start stored: playable while processing ──────────────────────────────────────────────────────

/**
 * The unit's runner stored the start of the version with manifests predicted for the whole of it
 * (a chunked encode's first chunk): the version plays from now on while the rest is encoded (see
 * playback/served-version.ts), once, and the lease is renewed as by progress. False when the
 * attempt is no longer running.
 */
export async function markPlayable(deps: TranscodeDeps, ctx: UnitContext, now = Date.now()) {
  const { db, settings } = deps;
  const { unit, job, video } = ctx;
  const [renewed, marked] = await db.batch([
    db
      .update(workUnits)
      .set({ leaseUntil: new Date(now + settings.units.leaseSeconds * 1000), updatedAt: new Date(now) })
      .where(and(unitStill(unit, ["running"]), eq(workUnits.runnerId, unit.runnerId ?? "")))
      .returning({ id: workUnits.id }),
    db
      .update(jobs)
      .set({ playableAt: new Date(now), updatedAt: new Date(now) })
      .where(
        and(
          eq(jobs.id, job.id),
          inArray(jobs.status, ACTIVE_JOB_STATUSES),
          isNull(jobs.playableAt),
          unitIs(unit.id, unit.attempt, "running"),
        ),
      )
      .returning({ id: jobs.id }),
  ]);
  if (renewed.length === 0) return false;
  if (marked.length > 0) {
    deps.logger.info("video playable", {
      unitId: unit.id,
      jobId: job.id,
      videoId: video.id,
      version: job.version,
      secondsSinceRequest: Math.round(now - job.createdAt.getTime()) / 1000,
    });
  }
  return true;
}

// ── Unit done, job completed ─────────────────────────────────────────────────────────────────────

/** What the unit that finishes a job publishes: the new version's renditions and the video's metadata. */
export interface Publication {
  duration: number;
  width: number;
  height: number;
  renditions: EncodedRendition[];
  /** The new version's storyboard layout, kept with the version it describes. */
  storyboard?: Storyboard;
}

export type CompletionOutcome = "completed" | "unit_done" | "refused";

/**
 * The unit's runner finished it. When it was the job's last unit, the version is published in
 * the same batch (renditions replaced, the video ready on the new version, the job completed);
 * then the version served before is deleted and the owner hears `video.ready`. `refused`: the
 * unit was no longer this attempt's to finish (the caller tells a duplicate from a stale one).
 */
export async function completeUnit(
  deps: TranscodeDeps,
  ctx: UnitContext,
  done: { result: unknown; publication?: Publication; followUps?: PlannedUnit[] },
  now = Date.now(),
): Promise<CompletionOutcome> {
  const { db } = deps;
  const { unit, job, video } = ctx;
  const finishing = and(
    sql`EXISTS (SELECT 1 FROM jobs a WHERE a.id = ${job.id} AND a.status IN ('queued', 'running'))`,
    sql`NOT EXISTS (SELECT 1 FROM work_units o WHERE o.job_id = ${job.id} AND o.status != 'done')`,
  );
  const publish = done.publication;
  const markDone = db
    .update(workUnits)
    .set({
      status: "done",
      progress: 100,
      leaseUntil: null,
      finishedAt: new Date(now),
      result: JSON.stringify(done.result ?? null),
      updatedAt: new Date(now),
    })
    .where(and(unitStill(unit, ["running"]), eq(workUnits.runnerId, unit.runnerId ?? "")))
    .returning({ id: workUnits.id });
  const keepProgress = db
    .update(jobs)
    .set({ progress: jobProgress(job.id), updatedAt: new Date(now) })
    .where(and(eq(jobs.id, job.id), inArray(jobs.status, ACTIVE_JOB_STATUSES)));
  const release = releaseCurrentUnit(db, unit.runnerId, unit.id);
  let completed = false;
  let marked = false;
  if (publish) {
    const rows = publish.renditions.map(
      (r) =>
        sql`(${video.id}, ${job.version}, ${r.id}, ${r.kind}, ${r.width}, ${r.height}, ${r.bandwidth}, ${r.codecs})`,
    );
    const results = await db.batch([
      markDone,
      // The publication: written only when this batch finishes the job (which happens once).
      db.delete(renditions).where(and(eq(renditions.videoId, video.id), finishing)),
      // Values in the table's column order: video, version, representation, kind, width, height, bandwidth, codecs.
      db.insert(renditions).select(sql`SELECT * FROM (VALUES ${sql.join(rows, sql`, `)}) WHERE ${finishing}`),
      writeVideoState(db, video, job.id, videoStateFor(video.version, { status: "completed" }), finishing, now, {
        version: job.version,
        duration: publish.duration,
        width: publish.width,
        height: publish.height,
        // The storyboard belongs to the version: a version without one clears the old layout.
        storyboard: publish.storyboard ?? null,
      }),
      db
        .update(jobs)
        .set({ status: "completed", progress: 100, finishedAt: new Date(now), updatedAt: new Date(now) })
        .where(and(eq(jobs.id, job.id), finishing))
        .returning({ id: jobs.id }),
      keepProgress,
      release,
    ]);
    marked = results[0].length > 0;
    completed = results[4].length > 0;
  } else if (done.followUps && done.followUps.length > 0) {
    // Created only by the completion of this attempt, and only while the job is unfinished.
    const guard = and(
      unitIs(unit.id, unit.attempt, "done"),
      sql`EXISTS (SELECT 1 FROM jobs a WHERE a.id = ${job.id} AND a.status IN ('queued', 'running'))`,
    ) as SQL;
    const results = await db.batch([
      markDone,
      ...insertUnitsWhen(db, job, video.ownerId, done.followUps, guard, now),
      keepProgress,
      release,
    ]);
    marked = results[0].length > 0;
  } else {
    const results = await db.batch([markDone, keepProgress, release]);
    marked = results[0].length > 0;
  }
  if (!marked) return "refused";
  const log = deps.logger.child({ unitId: unit.id, jobId: job.id, videoId: video.id, attempt: unit.attempt });
  if (unit.runnerId) {
    const seconds = unit.claimedAt ? Math.max(0, (now - unit.claimedAt.getTime()) / 1000) : 0;
    await db
      .update(runners)
      .set({
        unitsDone: sql`${runners.unitsDone} + 1`,
        encodeSeconds: sql`${runners.encodeSeconds} + ${seconds}`,
        mediaSeconds: sql`${runners.mediaSeconds} + ${publish?.duration ?? 0}`,
      })
      .where(eq(runners.id, unit.runnerId));
  }
  log.info("unit done", {
    kind: unit.kind,
    sequence: unit.sequence,
    runnerId: unit.runnerId,
    ...(done.followUps ? { unitsCreated: done.followUps.length } : {}),
  });
  if (done.followUps && done.followUps.length > 0) await wakeRunners(deps);
  if (!completed) return "unit_done";
  log.info("job completed", {
    version: job.version,
    renditions: publish?.renditions.length,
    duration: publish?.duration,
  });
  await announce(deps, "video.ready", video, now);
  const previous = video.version && video.version !== job.version ? video.version : null;
  if (previous) {
    await afterwards(
      deps,
      "deleting the superseded version",
      deletePrefix(deps.storage, versionPrefix(video.id, previous)),
    );
  }
  return "completed";
}

// ── Unit failed, lease expired, runner lost or revoked: requeued or job failed ──────────────────

/** Why a unit left its runner: its own failure, a lease that ran out, a runner that lost it or was revoked. */
export type ReturnReason = "failed" | "lease_expired" | "lost" | "revoked";

export type ReturnOutcome = "requeued" | "failed" | "refused";

const times = (n: number) => (n === 1 ? "once" : `${n} times`);

const FINAL_CODES: readonly FailureCode[] = ["not_video", "unsupported", "too_large", "too_long"];

/**
 * The runner reports the unit failed. A fault of the video itself (not a video, unsupported, too
 * large, too long) fails it at once; an encoding failure is tried again until the unit has
 * failed UNIT_MAX_ATTEMPTS times.
 */
export async function failUnit(
  deps: TranscodeDeps,
  ctx: UnitContext,
  failure: { code: FailureCode; message: string },
  now = Date.now(),
): Promise<ReturnOutcome> {
  const max = deps.settings.units.maxAttempts;
  const failures = ctx.unit.failures + 1;
  if (FINAL_CODES.includes(failure.code)) return failJob(deps, ctx, failure.code, failure.message, now);
  if (failures >= max) {
    return failJob(deps, ctx, failure.code, `${failure.message} (encoding failed ${times(failures)}; giving up)`, now);
  }
  return returnUnit(deps, ctx, "failed", now, failure);
}

/**
 * A unit goes back to pending: its attempt ended without an answer (lease ran out, runner lost or
 * revoked) or failed in a way worth retrying. Lost leases are counted apart from failures; a unit
 * that lost its runner UNIT_MAX_LEASE_EXPIRIES times fails its video. A revocation counts nothing.
 */
export async function returnUnit(
  deps: TranscodeDeps,
  ctx: UnitContext,
  reason: ReturnReason,
  now = Date.now(),
  failure?: { code: FailureCode; message: string },
): Promise<ReturnOutcome> {
  const { db, settings } = deps;
  const { unit, job, video } = ctx;
  const lostLease = reason === "lease_expired" || reason === "lost";
  const leaseExpiries = unit.leaseExpiries + (lostLease ? 1 : 0);
  if (lostLease && leaseExpiries >= settings.units.maxLeaseExpiries) {
    const reasonText =
      `The runner stopped reporting ${times(leaseExpiries)} (no word for ${settings.units.leaseSeconds} s` +
      ` or the runner went away, each time); giving up`;
    return failJob(deps, ctx, "transcode_failed", reasonText, now);
  }
  const [others] = await db
    .select({ n: count() })
    .from(workUnits)
    .where(and(eq(workUnits.jobId, job.id), ne(workUnits.id, unit.id), inArray(workUnits.status, ["running", "done"])));
  const jobStatus: JobStatus = (others?.n ?? 0) > 0 ? "running" : "queued";
  const stepped = unitIs(unit.id, unit.attempt, "pending");
  const [requeued] = await db.batch([
    db
      .update(workUnits)
      .set({
        status: "pending",
        runnerId: null,
        leaseUntil: null,
        progress: 0,
        leaseExpiries,
        failures: unit.failures + (reason === "failed" ? 1 : 0),
        errorCode: failure?.code ?? unit.errorCode,
        errorMessage: failure?.message ?? unit.errorMessage,
        updatedAt: new Date(now),
      })
      .where(unitStill(unit, ["running"]))
      .returning({ id: workUnits.id }),
    db
      .update(jobs)
      .set({ status: jobStatus, progress: jobProgress(job.id), updatedAt: new Date(now) })
      .where(and(eq(jobs.id, job.id), inArray(jobs.status, ACTIVE_JOB_STATUSES), stepped)),
    writeVideoState(db, video, job.id, videoStateFor(video.version, { status: jobStatus }), stepped, now),
    releaseCurrentUnit(db, unit.runnerId, unit.id),
  ]);
  if (requeued.length === 0) return "refused";
  if (unit.runnerId && reason !== "revoked") await countRunnerFailure(db, unit.runnerId);
  deps.logger.warn("unit requeued", {
    unitId: unit.id,
    jobId: job.id,
    videoId: video.id,
    kind: unit.kind,
    sequence: unit.sequence,
    attempt: unit.attempt,
    runnerId: unit.runnerId,
    reason,
    leaseExpiries,
    failures: unit.failures + (reason === "failed" ? 1 : 0),
    ...(failure ? { code: failure.code, error: failure.message } : {}),
  });
  await wakeRunners(deps);
  return "requeued";
}

const countRunnerFailure = (db: Database, runnerId: string) =>
  db
    .update(runners)
    .set({ unitsFailed: sql`${runners.unitsFailed} + 1` })
    .where(eq(runners.id, runnerId));

/**
 * The job fails with the unit: the job's other units are cancelled, the video fails with the
 * reason (or keeps playing the version it has), the failed version's objects are deleted, and
 * the owner hears `video.failed` when the video itself failed.
 */
async function failJob(
  deps: TranscodeDeps,
  ctx: UnitContext,
  code: FailureCode,
  message: string,
  now: number,
): Promise<ReturnOutcome> {
  const { db } = deps;
  const { unit, job, video } = ctx;
  const stepped = unitIs(unit.id, unit.attempt, "failed");
  const state = videoStateFor(video.version, { status: "failed", errorCode: code, errorMessage: message });
  const results = await db.batch([
    db
      .update(workUnits)
      .set({
        status: "failed",
        leaseUntil: null,
        finishedAt: new Date(now),
        errorCode: code,
        errorMessage: message,
        updatedAt: new Date(now),
      })
      .where(unitStill(unit, ["running"]))
      .returning({ id: workUnits.id }),
    db
      .update(workUnits)
      .set({ status: "cancelled", leaseUntil: null, finishedAt: new Date(now), updatedAt: new Date(now) })
      .where(
        and(
          eq(workUnits.jobId, job.id),
          ne(workUnits.id, unit.id),
          inArray(workUnits.status, ["pending", "running"]),
          stepped,
        ),
      ),
    db
      .update(jobs)
      .set({
        status: "failed",
        errorCode: code,
        errorMessage: message,
        finishedAt: new Date(now),
        updatedAt: new Date(now),
      })
      .where(and(eq(jobs.id, job.id), inArray(jobs.status, ACTIVE_JOB_STATUSES), stepped))
      .returning({ id: jobs.id }),
    writeVideoState(db, video, job.id, state, stepped, now),
    releaseCurrentUnit(db, unit.runnerId, unit.id),
  ]);
  if (results[0].length === 0) return "refused";
  if (unit.runnerId) await countRunnerFailure(db, unit.runnerId);
  if (results[2].length === 0) return "failed";
  deps.logger.warn("job failed", {
    unitId: unit.id,
    jobId: job.id,
    videoId: video.id,
    attempt: unit.attempt,
    code,
    reason: message,
  });
  if (state.status === "failed") await announce(deps, "video.failed", video, now);
  await afterwards(
    deps,
    "deleting the failed version",
    deletePrefix(deps.storage, versionPrefix(video.id, job.version)),
  );
  return "failed";
}

/**
 * Units whose lease ran out: their runner stopped reporting. Each goes back to pending, or fails
 * its video after too many lost leases.
 */
export async function expireLeases(deps: TranscodeDeps, now = Date.now(), limit = 100) {
  const expired = await unitContexts(
    deps.db,
    and(eq(workUnits.status, "running"), sql`${workUnits.leaseUntil} < ${now}`),
    undefined,
    limit,
  );
  const outcome = { requeued: 0, failed: 0 };
  for (const ctx of expired) {
    const result = await returnUnit(deps, ctx, "lease_expired", now);
    if (result === "requeued") outcome.requeued++;
    if (result === "failed") outcome.failed++;
  }
  return outcome;
}

/**
 * Units the runner holds in D1 that it no longer has (`keep` lists those it reported): lost,
 * e.g. after a restart, or taken from it by a revocation. Each goes back to pending at once.
 */
export async function returnUnitsOf(
  deps: TranscodeDeps,
  runnerId: string,
  reason: "lost" | "revoked",
  keep: string[] = [],
  now = Date.now(),
) {
  const held = await unitContexts(
    deps.db,
    and(
      eq(workUnits.runnerId, runnerId),
      eq(workUnits.status, "running"),
      keep.length > 0 ? notInArray(workUnits.id, keep) : undefined,
    ),
  );
  for (const ctx of held) await returnUnit(deps, ctx, reason, now);
  return held.length;
}

/** An admin revoked the runner's token: its next claim or event is refused, and its units go back to pending. */
export async function revokeRunner(deps: TranscodeDeps, runnerId: string, now = Date.now()) {
  const { db } = deps;
  await db
    .update(runners)
    .set({ revokedAt: new Date(now) })
    .where(and(eq(runners.id, runnerId), isNull(runners.revokedAt)));
  const runner = await db.select().from(runners).where(eq(runners.id, runnerId)).get();
  if (!runner) return undefined;
  const returned = await returnUnitsOf(deps, runnerId, "revoked", [], now);
  deps.logger.info("runner revoked", { runnerId, kind: runner.kind, unitsReturned: returned });
  if (runner.kind === ("container" satisfies RunnerKind)) {
    await afterwards(deps, "stopping the revoked container", deps.runners.pool.stop(runnerId));
  }
  return runner;
}

// ── Cancelled ────────────────────────────────────────────────────────────────────────────────────

/**
 * The job is no longer wanted (its video is deleted, or a reprocess replaced it): its pending
 * units are cancelled, its running units' next event is refused, and its version's objects go.
 */
export async function cancelJob(deps: TranscodeDeps, job: Job, reason: string, now = Date.now()) {
  const { db } = deps;
  const live = and(eq(workUnits.jobId, job.id), inArray(workUnits.status, ["pending", "running"]));
  const [, , cancelled] = await db.batch([
    db
      .update(runners)
      .set({ currentUnitId: null })
      .where(inArray(runners.currentUnitId, db.select({ id: workUnits.id }).from(workUnits).where(live))),
    db
      .update(workUnits)
      .set({
        status: "cancelled",
        leaseUntil: null,
        finishedAt: new Date(now),
        errorMessage: reason,
        updatedAt: new Date(now),
      })
      .where(live),
    db
      .update(jobs)
      .set({ status: "cancelled", errorMessage: reason, finishedAt: new Date(now), updatedAt: new Date(now) })
      .where(and(eq(jobs.id, job.id), inArray(jobs.status, ACTIVE_JOB_STATUSES)))
      .returning({ id: jobs.id }),
  ]);
  if (cancelled.length === 0) return false;
  deps.logger.info("job cancelled", { jobId: job.id, videoId: job.videoId, version: job.version, reason });
  await afterwards(
    deps,
    "deleting the cancelled version",
    deletePrefix(deps.storage, versionPrefix(job.videoId, job.version)),
  );
  return true;
}

/** The video is being deleted: its unfinished job is cancelled first, so its runner stops. */
export async function cancelJobsOf(deps: TranscodeDeps, videoId: string, now = Date.now()) {
  const job = await activeJobFor(deps.db, videoId);
  if (job) await cancelJob(deps, job, "the video was deleted", now);
}
