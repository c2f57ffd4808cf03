/**
 * The life of a transcode job in D1: enqueue, claim (the lease), progress, completion, failure,
 * and the sweep for jobs that stopped reporting. Functions take what they need as parameters.
 */
import { and, eq, inArray, lt, or, sql } from "drizzle-orm";
import type { EncodedRendition, FailureCode, Storyboard } from "../../shared/protocol";
import type { Database } from "../db/client";
import { type Job, jobs, renditions, type Video, videos } from "../db/schema";
import type { WebhookEventType, WebhookMessage } from "../webhooks/webhooks";

export const ACTIVE_JOB_STATUSES = ["queued", "dispatched", "running"] as const;

export function newVersion(now = Date.now()): string {
  const random = crypto.getRandomValues(new Uint8Array(4));
  return `v${now.toString(36)}${[...random].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}

export async function activeJobFor(db: Database, videoId: string): Promise<Job | undefined> {
  return db
    .select()
    .from(jobs)
    .where(and(eq(jobs.videoId, videoId), inArray(jobs.status, ACTIVE_JOB_STATUSES)))
    .get();
}

/**
 * Marks the video queued (unless it keeps serving an earlier version), creates its job unless one
 * is already unfinished, and sends the queue message. Safe to call twice: the unique index on
 * unfinished jobs keeps it to one job.
 */
export async function enqueueTranscode(
  db: Database,
  queue: Queue,
  videoId: string,
  options: { keepServing?: boolean; now?: number } = {},
): Promise<Job> {
  const now = options.now ?? Date.now();
  await db
    .insert(jobs)
    .values({ id: crypto.randomUUID(), videoId, version: newVersion(now), status: "queued" })
    .onConflictDoNothing();
  // A video that is already playing keeps its status while a new version is made.
  if (!options.keepServing) {
    await db
      .update(videos)
      .set({ status: "queued", progress: 0, errorCode: null, errorMessage: null, updatedAt: new Date(now) })
      .where(eq(videos.id, videoId));
  }
  const job = await activeJobFor(db, videoId);
  if (!job) throw new Error(`no unfinished job for video ${videoId} after enqueue`);
  await queue.send({ videoId });
  return job;
}

/**
 * Takes the dispatch lease of a video's unfinished job: succeeds only if the job is waiting, or
 * its previous lease ran out. A duplicate delivery while an encode runs gets `undefined`.
 */
export async function claimJob(
  db: Database,
  videoId: string,
  leaseSeconds: number,
  now = Date.now(),
): Promise<Job | undefined> {
  const current = await activeJobFor(db, videoId);
  if (!current) return undefined;
  const [claimed] = await db
    .update(jobs)
    .set({
      status: "dispatched",
      attempts: sql`${jobs.attempts} + 1`,
      leaseUntil: new Date(now + leaseSeconds * 1000),
      lastEventAt: new Date(now),
      updatedAt: new Date(now),
    })
    .where(
      and(
        eq(jobs.id, current.id),
        or(
          eq(jobs.status, "queued"),
          and(inArray(jobs.status, ["dispatched", "running"]), lt(jobs.leaseUntil, new Date(now))),
        ),
      ),
    )
    .returning();
  return claimed;
}

/** Gives back a lease whose dispatch failed; the attempt does not count. */
export async function releaseClaim(db: Database, job: Job, now = Date.now()) {
  await db
    .update(jobs)
    .set({ status: "queued", attempts: sql`max(0, ${jobs.attempts} - 1)`, leaseUntil: null, updatedAt: new Date(now) })
    .where(and(eq(jobs.id, job.id), eq(jobs.attempts, job.attempts), eq(jobs.status, "dispatched")));
}

/** The job, if `attempt` is its current attempt and it is still running. */
export async function currentAttempt(db: Database, jobId: string, attempt: number): Promise<Job | undefined> {
  const job = await db.select().from(jobs).where(eq(jobs.id, jobId)).get();
  if (!job || job.attempts !== attempt || !["dispatched", "running"].includes(job.status)) return undefined;
  return job;
}

export async function recordProgress(db: Database, job: Job, progress: number, leaseSeconds: number, now = Date.now()) {
  const pct = Math.max(0, Math.min(99, Math.floor(progress)));
  await db.batch([
    db
      .update(jobs)
      .set({
        status: "running",
        progress: pct,
        lastEventAt: new Date(now),
        leaseUntil: new Date(now + leaseSeconds * 1000),
        updatedAt: new Date(now),
      })
      .where(eq(jobs.id, job.id)),
    db
      .update(videos)
      .set({ status: "processing", progress: pct, updatedAt: new Date(now) })
      .where(and(eq(videos.id, job.videoId), inArray(videos.status, ["queued", "processing"]))),
  ]);
}

export interface JobEndOptions {
  now?: number;
  /** The webhooks queue: the owner hears of the video becoming ready or failing. */
  events?: Queue;
}

async function announce(events: Queue | undefined, type: WebhookEventType, video: Video, now: number) {
  if (!events) return;
  const message: WebhookMessage = {
    type,
    videoId: video.id,
    userId: video.ownerId,
    occurredAt: new Date(now).toISOString(),
  };
  await events.send(message);
}

export interface Completion {
  duration: number;
  width: number;
  height: number;
  renditions: EncodedRendition[];
  /** The new version's storyboard layout, kept with the version it describes. */
  storyboard?: Storyboard;
}

/**
 * Flips the video to the job's version in one batch: renditions replaced, video ready, job
 * completed. Returns the version that was served before, whose objects the caller deletes.
 */
export async function completeJob(db: Database, job: Job, done: Completion, options: JobEndOptions = {}) {
  const now = options.now ?? Date.now();
  const video = await db.select().from(videos).where(eq(videos.id, job.videoId)).get();
  if (!video) return { previousVersion: null as string | null, video: undefined };
  await db.batch([
    db.delete(renditions).where(eq(renditions.videoId, job.videoId)),
    db.insert(renditions).values(
      done.renditions.map((r) => ({
        videoId: job.videoId,
        version: job.version,
        representationId: r.id,
        kind: r.kind,
        width: r.width,
        height: r.height,
        bandwidth: r.bandwidth,
        codecs: r.codecs,
      })),
    ),
    db
      .update(videos)
      .set({
        status: "ready",
        progress: 100,
        version: job.version,
        duration: done.duration,
        width: done.width,
        height: done.height,
        // The storyboard belongs to the version: a version without one clears the old layout.
        storyboard: done.storyboard ?? null,
        errorCode: null,
        errorMessage: null,
        updatedAt: new Date(now),
      })
      .where(eq(videos.id, job.videoId)),
    db
      .update(jobs)
      .set({
        status: "completed",
        progress: 100,
        lastEventAt: new Date(now),
        leaseUntil: null,
        updatedAt: new Date(now),
      })
      .where(eq(jobs.id, job.id)),
  ]);
  const previousVersion = video.version && video.version !== job.version ? video.version : null;
  await announce(options.events, "video.ready", video, now);
  return { previousVersion, video };
}

/**
 * Ends a job as failed. The video fails with the reason, unless an earlier version is still
 * being served, in which case it keeps playing that one.
 */
export async function failJob(
  db: Database,
  job: Job,
  code: FailureCode,
  message: string,
  options: JobEndOptions = {},
): Promise<Video | undefined> {
  const now = options.now ?? Date.now();
  const video = await db.select().from(videos).where(eq(videos.id, job.videoId)).get();
  const stillServing = Boolean(video?.version);
  await db.batch([
    db
      .update(jobs)
      .set({ status: "failed", errorCode: code, errorMessage: message, leaseUntil: null, updatedAt: new Date(now) })
      .where(eq(jobs.id, job.id)),
    db
      .update(videos)
      .set(
        stillServing
          ? { status: "ready", progress: 100, updatedAt: new Date(now) }
          : { status: "failed", errorCode: code, errorMessage: message, updatedAt: new Date(now) },
      )
      .where(eq(videos.id, job.videoId)),
  ]);
  if (video && !stillServing) await announce(options.events, "video.failed", video, now);
  return video;
}

/** Jobs whose lease ran out: their transcoder stopped reporting. */
export async function staleJobs(db: Database, now = Date.now(), limit = 100): Promise<Job[]> {
  return db
    .select()
    .from(jobs)
    .where(and(inArray(jobs.status, ["dispatched", "running"]), lt(jobs.leaseUntil, new Date(now))))
    .limit(limit)
    .all();
}

/** Puts a stale job back in line for another attempt (the caller sends the queue message). */
export async function requeueJob(db: Database, job: Job, now = Date.now()): Promise<boolean> {
  const [row] = await db
    .update(jobs)
    .set({ status: "queued", leaseUntil: null, updatedAt: new Date(now) })
    .where(and(eq(jobs.id, job.id), eq(jobs.attempts, job.attempts), inArray(jobs.status, ["dispatched", "running"])))
    .returning({ id: jobs.id });
  if (row) {
    await db
      .update(videos)
      .set({ status: "queued", updatedAt: new Date(now) })
      .where(and(eq(videos.id, job.videoId), eq(videos.status, "processing")));
  }
  return Boolean(row);
}
