/**
 * The fair order in which runners claim pending units, in SQL, and what it tells people: a
 * video's place in line, an estimated start, the backlog.
 *
 * The order is fair across owners in rounds. A pending unit's round is its owner's running units
 * plus its place among the owner's pending units (by priority, then age); lower rounds go first,
 * so the owner with the fewest units running goes first and one owner's fifty uploads wait
 * behind everyone else's first. Within a round: higher priority first, then the owner whose last
 * claim is longest ago (taking turns also with a single runner), then the oldest unit.
 *
 * Chunked encoding: a unit that starts a video (its probe, its first chunk, which also makes the
 * start of the audio) goes before the owner's later units, and before anyone's in the same round,
 * so a new upload becomes playable soon even behind long ones; a video's later units then go in
 * their place: the second chunk, the audio (whose start the first chunk made, so it is needed
 * only from the third chunk's time on), the other chunks in order, and `finalize`, which waits
 * until every other unit of its job is done.
 *
 * A unit a viewer waits for (a video that plays while processing reached a segment it makes)
 * has {@link WATCHED_PRIORITY} and goes before every other pending unit, whatever its round.
 */
import { and, count, eq, inArray, sql } from "drizzle-orm";
import type { Database } from "../db/client";
import { runners, workUnits } from "../db/schema";

/** The priority of a unit a viewer waits for: first in the claim order. */
export const WATCHED_PRIORITY = 1000;

/** A unit's place within its video: 0 starts it; the second chunk 2, the audio 3, chunk k 2k, finalize last. */
const PLACE = sql.raw(
  `(CASE u.kind WHEN 'chunk' THEN 2 * u.sequence WHEN 'audio' THEN 3 WHEN 'finalize' THEN 1000000000 ELSE 0 END)`,
);
/** 1 for a unit that continues a video, 0 for one that starts it. */
const LATER = sql`(CASE WHEN ${PLACE} > 0 THEN 1 ELSE 0 END)`;

/** Pending units with their round and their owner's turn (the CTEs `owners` and `rounds`). */
const ROUNDS = sql`
  WITH owners AS (
    SELECT p.owner_id AS owner_id,
      (SELECT count(*) FROM work_units r WHERE r.owner_id = p.owner_id AND r.status = 'running') AS running,
      coalesce((SELECT max(c.claimed_at) FROM work_units c WHERE c.owner_id = p.owner_id), 0) AS last_claim
    FROM (SELECT DISTINCT owner_id FROM work_units WHERE status = 'pending') p
  ),
  rounds AS (
    SELECT u.id AS id, u.video_id AS video_id, u.priority AS priority, u.created_at AS created_at,
      ${PLACE} AS place, o.last_claim AS last_claim, ${LATER} AS later,
      (CASE WHEN u.priority >= ${sql.raw(String(WATCHED_PRIORITY))} THEN 1 ELSE 0 END) AS watched,
      o.running + row_number() OVER (
        PARTITION BY u.owner_id ORDER BY u.priority DESC, ${LATER}, u.created_at, ${PLACE}, u.id
      ) - 1 AS round
    FROM work_units u JOIN owners o ON o.owner_id = u.owner_id
    WHERE u.status = 'pending' AND NOT (u.kind = 'finalize' AND EXISTS (
      SELECT 1 FROM work_units w WHERE w.job_id = u.job_id AND w.kind != 'finalize' AND w.status != 'done'))
  )`;

const CLAIM_ORDER = sql`watched DESC, round, priority DESC, later, last_claim, created_at, place, id`;

/** The id of the unit the next claim takes, as a subquery (NULL when nothing is pending). */
export const nextPendingUnitId = sql`(${ROUNDS} SELECT id FROM rounds ORDER BY ${CLAIM_ORDER} LIMIT 1)`;

/**
 * For each of these videos that has pending units: how many pending units the claim order puts
 * before its first one.
 */
export async function queuePositions(db: Database, videoIds: string[]): Promise<Map<string, number>> {
  const positions = new Map<string, number>();
  if (videoIds.length === 0) return positions;
  const rows = await db.all<{ video_id: string; ahead: number }>(sql`
    ${ROUNDS}
    SELECT video_id, min(ahead) AS ahead FROM (
      SELECT video_id, row_number() OVER (ORDER BY ${CLAIM_ORDER}) - 1 AS ahead FROM rounds
    )
    WHERE video_id IN (${sql.join(
      videoIds.map((id) => sql`${id}`),
      sql`, `,
    )})
    GROUP BY video_id`);
  for (const row of rows) positions.set(row.video_id, Number(row.ahead));
  return positions;
}

/** A runner that claimed within this long is taken as alive (a long poll lasts at most 25 s). */
export const RUNNER_ALIVE_MS = 120_000;

export interface Throughput {
  /** Mean wall seconds from claim to completion of a unit, over every runner's done units. */
  secondsPerUnit: number | null;
  /** Runners, not revoked, that claimed within {@link RUNNER_ALIVE_MS}. */
  aliveRunners: number;
}

export async function throughput(db: Database, now = Date.now()): Promise<Throughput> {
  const row = await db
    .select({
      seconds: sql<number>`coalesce(sum(${runners.encodeSeconds}), 0)`,
      done: sql<number>`coalesce(sum(${runners.unitsDone}), 0)`,
      alive: sql<number>`coalesce(sum(CASE WHEN ${runners.revokedAt} IS NULL AND ${runners.lastContactAt} > ${now - RUNNER_ALIVE_MS} THEN 1 ELSE 0 END), 0)`,
    })
    .from(runners)
    .get();
  const done = Number(row?.done ?? 0);
  return { secondsPerUnit: done > 0 ? Number(row?.seconds) / done : null, aliveRunners: Number(row?.alive ?? 0) };
}

export interface QueueStanding {
  /** Pending units the claim order puts before the video's first; null unless it waits. */
  queuePosition: number | null;
  /** When a runner should take it, from the runners' mean time per unit; null without a history. */
  estimatedStartAt: string | null;
}

export const NOT_WAITING: QueueStanding = { queuePosition: null, estimatedStartAt: null };

/**
 * Where these videos stand in line. The estimate assumes the units ahead, and half of the units
 * running now, take the mean time per unit, shared among the runners that are alive (at least one).
 */
export async function queueStandings(
  db: Database,
  videoIds: string[],
  now = Date.now(),
): Promise<Map<string, QueueStanding>> {
  const standings = new Map<string, QueueStanding>();
  const positions = await queuePositions(db, videoIds);
  if (positions.size === 0) return standings;
  const [speed, runningRow] = await Promise.all([
    throughput(db, now),
    db.select({ n: count() }).from(workUnits).where(eq(workUnits.status, "running")).get(),
  ]);
  const running = runningRow?.n ?? 0;
  for (const [videoId, ahead] of positions) {
    const estimatedStartAt =
      speed.secondsPerUnit === null
        ? null
        : new Date(
            now + ((ahead + running / 2) * speed.secondsPerUnit * 1000) / Math.max(1, speed.aliveRunners),
          ).toISOString();
    standings.set(videoId, { queuePosition: ahead, estimatedStartAt });
  }
  return standings;
}

export interface Backlog {
  /** Units waiting for a runner. */
  pending: number;
  /** Units a runner holds. */
  running: number;
  /** Container runners holding a unit, by runner id. */
  busyContainers: string[];
}

export async function backlog(db: Database): Promise<Backlog> {
  const [tally, busy] = await Promise.all([
    db
      .select({ status: workUnits.status, n: count() })
      .from(workUnits)
      .where(inArray(workUnits.status, ["pending", "running"]))
      .groupBy(workUnits.status)
      .all(),
    db
      .selectDistinct({ id: runners.id })
      .from(workUnits)
      .innerJoin(runners, eq(runners.id, workUnits.runnerId))
      .where(and(eq(workUnits.status, "running"), eq(runners.kind, "container")))
      .all(),
  ]);
  const of = (status: string) => tally.find((t) => t.status === status)?.n ?? 0;
  return { pending: of("pending"), running: of("running"), busyContainers: busy.map((b) => b.id) };
}
