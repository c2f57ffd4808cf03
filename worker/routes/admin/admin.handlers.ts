import { and, count, eq, gt, inArray, min, sql } from "drizzle-orm";
import type { AppRouteHandler } from "../../app/types";
import { ACTIVE_JOB_STATUSES, JOB_STATUSES, jobs, users, VIDEO_STATUSES, videos, workUnits } from "../../db/schema";
import { videoLocations } from "../../storage/keys";
import { listPrefix } from "../../storage/prefix";
import { listRunners, serializeRunner } from "../../transcode/runners";
import { backlog } from "../../transcode/scheduler";
import type * as routes from "./admin.routes";

export const videoStorage: AppRouteHandler<typeof routes.storage> = async (c) => {
  const { id } = c.req.valid("param");
  const objects: { key: string; size: number }[] = [];
  const where = videoLocations(id);
  const source = await c.var.services.storage.head(where.source);
  if (source) objects.push({ key: where.source, size: source.size });
  for (const prefix of where.prefixes) {
    for await (const o of listPrefix(c.var.services.storage, prefix)) objects.push(o);
  }
  return c.json({ video_id: id, objects, bytes: objects.reduce((n, o) => n + o.size, 0) }, 200);
};

export const platformStats: AppRouteHandler<typeof routes.stats> = async (c) => {
  const db = c.var.db;
  const dayAgo = new Date(Date.now() - 86_400_000);
  const [byStatus, jobsByStatus, failedJobs, failedVideos, userCount, bytes] = await Promise.all([
    db.select({ status: videos.status, n: count() }).from(videos).groupBy(videos.status).all(),
    db.select({ status: jobs.status, n: count() }).from(jobs).groupBy(jobs.status).all(),
    db
      .select({ n: count() })
      .from(jobs)
      .where(and(eq(jobs.status, "failed"), gt(jobs.updatedAt, dayAgo)))
      .get(),
    db
      .select({ n: count() })
      .from(videos)
      .where(and(eq(videos.status, "failed"), gt(videos.updatedAt, dayAgo)))
      .get(),
    db.select({ n: count() }).from(users).get(),
    db
      .select({ n: sql<number>`coalesce(sum(${videos.size}), 0)` })
      .from(videos)
      .get(),
  ]);
  const tally = <T extends string>(names: readonly T[], rows: { status: string; n: number }[]) =>
    Object.fromEntries(names.map((name) => [name, rows.find((r) => r.status === name)?.n ?? 0])) as Record<T, number>;
  const jobTally = tally(JOB_STATUSES, jobsByStatus);
  const [depth, waiting, oldest, runnerRows] = await Promise.all([
    db.select({ n: count() }).from(jobs).where(inArray(jobs.status, ACTIVE_JOB_STATUSES)).get(),
    backlog(db),
    db
      .select({ at: min(workUnits.createdAt) })
      .from(workUnits)
      .where(eq(workUnits.status, "pending"))
      .get(),
    listRunners(db),
  ]);
  return c.json(
    {
      videos: tally(VIDEO_STATUSES, byStatus),
      jobs: jobTally,
      queue_depth: depth?.n ?? 0,
      backlog: {
        pending_units: waiting.pending,
        running_units: waiting.running,
        oldest_pending_since: oldest?.at ? new Date(oldest.at).toISOString() : null,
      },
      runners: runnerRows.filter((r) => !r.runner.revokedAt).map(serializeRunner),
      failures_last_day: { jobs: failedJobs?.n ?? 0, videos: failedVideos?.n ?? 0 },
      users: userCount?.n ?? 0,
      stored_source_bytes: Number(bytes?.n ?? 0),
    },
    200,
  );
};
