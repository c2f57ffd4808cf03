import { eq, sql } from "drizzle-orm";
import { beforeEach, describe, expect, it } from "vitest";
import { runners, workUnits } from "../db/schema";
import { seedUser, seedVideo, testDb } from "../testing/seed";
import { clearUnits, seedRunner, testDeps } from "../testing/units";
import { claimUnit, createUnits, requestTranscode } from "./lifecycle";
import { backlog, queuePositions, queueStandings } from "./scheduler";

const { deps } = testDeps();

/** `n` videos of one owner, each with its pending unit, created in this order. */
async function pendingVideos(ownerId: string, n: number, priority = 0) {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const video = await seedVideo({ ownerId, status: "uploading" });
    await requestTranscode(deps.db, deps.queues.transcode, video.id, { priority });
    await createUnits(deps, video.id);
    ids.push(video.id);
  }
  return ids;
}

const finish = (unitId: string) => testDb().update(workUnits).set({ status: "done" }).where(eq(workUnits.id, unitId));

let clock = Date.now();
const tick = () => {
  clock += 1000;
  return clock;
};

beforeEach(clearUnits);

describe("the fair claim order", () => {
  it("does not let one owner's fifty pending units starve two others, even with a single runner", async () => {
    const [a, b, c] = [await seedUser(), await seedUser(), await seedUser()];
    const owner = new Map<string, string>();
    for (const id of await pendingVideos(a.id, 50)) owner.set(id, "A");
    for (const id of await pendingVideos(b.id, 1)) owner.set(id, "B");
    for (const id of await pendingVideos(c.id, 2)) owner.set(id, "C");
    const { runner } = await seedRunner();
    const order: string[] = [];
    for (let i = 0; i < 8; i++) {
      const claim = await claimUnit(deps, runner, tick());
      if (!claim) throw new Error("nothing to claim");
      order.push(owner.get(claim.unit.videoId) ?? "?");
      await finish(claim.unit.id);
    }
    // Every owner's first unit before anyone's second; B's only one and both of C's early.
    expect(new Set(order.slice(0, 3))).toEqual(new Set(["A", "B", "C"]));
    expect(order.slice(0, 5).filter((o) => o === "C")).toHaveLength(2);
    expect(order.slice(5)).toEqual(["A", "A", "A"]);
  }, 30_000);

  it("gives the next unit to the owner with the fewest units running", async () => {
    const [a, b] = [await seedUser(), await seedUser()];
    const [a1] = await pendingVideos(a.id, 3);
    const [b1] = await pendingVideos(b.id, 1);
    const first = await claimUnit(deps, (await seedRunner()).runner, tick());
    const second = await claimUnit(deps, (await seedRunner()).runner, tick());
    expect(first?.unit.videoId).toBe(a1);
    expect(second?.unit.videoId).toBe(b1);
  });

  it("takes an owner's higher-priority unit first", async () => {
    const a = await seedUser();
    const [low] = await pendingVideos(a.id, 1, 0);
    const [high] = await pendingVideos(a.id, 1, 5);
    const { runner } = await seedRunner();
    expect((await claimUnit(deps, runner, tick()))?.unit.videoId).toBe(high);
    expect((await claimUnit(deps, runner, tick()))?.unit.videoId).toBe(low);
  });
});

describe("a video's place in line", () => {
  it("counts the pending units the claim order puts before it, as claims then take them", async () => {
    const [a, b] = [await seedUser(), await seedUser()];
    const [a1, a2, a3] = await pendingVideos(a.id, 3);
    const [b1] = await pendingVideos(b.id, 1);
    const ids = [a1, a2, a3, b1] as string[];
    const positions = await queuePositions(deps.db, ids);
    expect(Object.fromEntries(positions)).toEqual({
      [a1 as string]: 0,
      [b1 as string]: 1,
      [a2 as string]: 2,
      [a3 as string]: 3,
    });
    const { runner } = await seedRunner();
    const claimedInOrder: string[] = [];
    for (let i = 0; i < 4; i++) {
      const claim = await claimUnit(deps, runner, tick());
      claimedInOrder.push(claim?.unit.videoId ?? "");
    }
    expect(claimedInOrder).toEqual([...positions.entries()].sort((x, y) => x[1] - y[1]).map(([id]) => id));
    expect((await queuePositions(deps.db, ids)).size).toBe(0);
  });

  it("estimates a start only once runners have a throughput history", async () => {
    const a = await seedUser();
    const [first, second] = await pendingVideos(a.id, 2);
    await testDb().update(runners).set({ unitsDone: 0, encodeSeconds: 0, lastContactAt: null });
    const now = Date.now();
    const without = await queueStandings(deps.db, [first as string, second as string], now);
    expect(without.get(second as string)).toEqual({ queuePosition: 1, estimatedStartAt: null });
    const { runner } = await seedRunner();
    await testDb()
      .update(runners)
      .set({ unitsDone: 4, encodeSeconds: 40, lastContactAt: new Date(now) })
      .where(eq(runners.id, runner.id));
    const withHistory = await queueStandings(deps.db, [second as string], now);
    // One unit ahead, nothing running, 10 s per unit, one runner alive.
    expect(withHistory.get(second as string)).toEqual({
      queuePosition: 1,
      estimatedStartAt: new Date(now + 10_000).toISOString(),
    });
  });
});

describe("the backlog", () => {
  it("counts units waiting and running", async () => {
    const a = await seedUser();
    await pendingVideos(a.id, 3);
    await claimUnit(deps, (await seedRunner()).runner, tick());
    const waiting = await backlog(deps.db);
    expect(waiting).toMatchObject({ pending: 2, running: 1, busyContainers: [] });
    const n = await testDb().get<{ n: number }>(sql`SELECT count(*) AS n FROM work_units WHERE status = 'pending'`);
    expect(n?.n).toBe(2);
  });
});
