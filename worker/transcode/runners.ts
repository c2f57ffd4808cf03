/**
 * Runners and their tokens. A runner token is `sbr_` and 32 random bytes in hex, shown once (or
 * handed to a container as it starts); only its SHA-256 is stored. Three kinds: `remote` (issued
 * by an admin), `container` (minted by the platform for each Transcoder container it starts), and
 * `local` (the runner of `npm start`, whose token is the LOCAL_RUNNER_TOKEN setting, refused
 * outside development).
 */
import { and, count, desc, eq, getTableColumns, sql } from "drizzle-orm";
import { RUNNER_TOKEN_PATTERN } from "../../shared/protocol";
import type { Settings } from "../app/settings";
import { generateKey, hashKey } from "../auth/keys";
import type { Database } from "../db/client";
import { type Runner, type RunnerKind, runners, workUnits } from "../db/schema";

export const LOCAL_RUNNER_ID = "local";

export const newRunnerToken = () => `sbr_${generateKey()}`;

/** An admin's new remote runner: the row, and the token to show once. */
export async function createRemoteRunner(db: Database, name: string, now = Date.now()) {
  const token = newRunnerToken();
  const [runner] = await db
    .insert(runners)
    .values({
      id: crypto.randomUUID(),
      name,
      kind: "remote",
      tokenHash: await hashKey(token),
      createdAt: new Date(now),
    })
    .returning();
  if (!runner) throw new Error("the runner row was not written");
  return { runner, token };
}

/**
 * A runner the platform runs (a container, the local runner) under a token it just minted or was
 * given: the row is created, or takes the new token. A new token is a new credential, so a
 * revocation of the old one does not carry over.
 */
export async function registerPlatformRunner(
  db: Database,
  runner: { id: string; name: string; kind: Exclude<RunnerKind, "remote"> },
  token: string,
  now = Date.now(),
) {
  const tokenHash = await hashKey(token);
  await db
    .insert(runners)
    .values({ ...runner, tokenHash, createdAt: new Date(now) })
    .onConflictDoUpdate({
      target: runners.id,
      set: {
        tokenHash,
        revokedAt: sql`CASE WHEN ${runners.tokenHash} = ${tokenHash} THEN ${runners.revokedAt} ELSE NULL END`,
      },
    });
}

export type RunnerAuthentication = { ok: true; runner: Runner } | { ok: false; reason: "unknown" | "revoked" };

/** The runner a Bearer token belongs to; the local runner's token registers it on first use. */
export async function authenticateRunner(
  db: Database,
  settings: Settings,
  token: string,
  now = Date.now(),
): Promise<RunnerAuthentication> {
  if (!RUNNER_TOKEN_PATTERN.test(token)) return { ok: false, reason: "unknown" };
  const tokenHash = await hashKey(token);
  let runner = await db.select().from(runners).where(eq(runners.tokenHash, tokenHash)).get();
  const local = settings.runners.localToken;
  const development = settings.environment === "development" || settings.environment === "test";
  const isLocalToken = development && local !== "" && tokenHash === (await hashKey(local));
  // The local runner's token works only while the setting names it.
  if (runner?.kind === "local" && !isLocalToken) return { ok: false, reason: "unknown" };
  if (!runner && isLocalToken) {
    await registerPlatformRunner(db, { id: LOCAL_RUNNER_ID, name: "local", kind: "local" }, token, now);
    runner = await db.select().from(runners).where(eq(runners.tokenHash, tokenHash)).get();
  }
  if (!runner) return { ok: false, reason: "unknown" };
  if (runner.revokedAt) return { ok: false, reason: "revoked" };
  return { ok: true, runner };
}

export async function recordContact(db: Database, runnerId: string, now = Date.now()) {
  await db
    .update(runners)
    .set({ lastContactAt: new Date(now) })
    .where(eq(runners.id, runnerId));
}

export async function findRunner(db: Database, id: string): Promise<Runner | undefined> {
  return db.select().from(runners).where(eq(runners.id, id)).get();
}

/** Every runner, newest first, with the unit it works on and how many it holds. */
export async function listRunners(db: Database) {
  const held = db
    .select({ runnerId: workUnits.runnerId, n: count().as("n") })
    .from(workUnits)
    .where(eq(workUnits.status, "running"))
    .groupBy(workUnits.runnerId)
    .as("held");
  return db
    .select({
      runner: getTableColumns(runners),
      held: sql<number>`coalesce(${held.n}, 0)`,
      current: {
        id: workUnits.id,
        jobId: workUnits.jobId,
        videoId: workUnits.videoId,
        kind: workUnits.kind,
        attempt: workUnits.attempt,
        progress: workUnits.progress,
        leaseUntil: workUnits.leaseUntil,
      },
    })
    .from(runners)
    .leftJoin(held, eq(held.runnerId, runners.id))
    .leftJoin(
      workUnits,
      and(eq(workUnits.id, runners.currentUnitId), eq(workUnits.status, "running"), eq(workUnits.runnerId, runners.id)),
    )
    .orderBy(desc(runners.createdAt), runners.id)
    .all();
}

export type RunnerListing = Awaited<ReturnType<typeof listRunners>>[number];

/** A runner as the admin API shows it, with its throughput. */
export function serializeRunner({ runner, held, current }: RunnerListing) {
  return {
    id: runner.id,
    name: runner.name,
    kind: runner.kind,
    created_at: runner.createdAt.toISOString(),
    last_contact_at: runner.lastContactAt?.toISOString() ?? null,
    revoked_at: runner.revokedAt?.toISOString() ?? null,
    current_unit:
      current?.id != null
        ? {
            id: current.id,
            job_id: current.jobId,
            video_id: current.videoId,
            kind: current.kind,
            attempt: current.attempt,
            progress: current.progress,
            lease_until: current.leaseUntil?.toISOString() ?? null,
          }
        : null,
    units_running: Number(held),
    units_done: runner.unitsDone,
    units_failed: runner.unitsFailed,
    encode_seconds: runner.encodeSeconds,
    seconds_per_unit: runner.unitsDone > 0 ? runner.encodeSeconds / runner.unitsDone : null,
    speed: runner.encodeSeconds > 0 ? runner.mediaSeconds / runner.encodeSeconds : null,
  };
}
