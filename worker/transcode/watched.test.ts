import { eq } from "drizzle-orm";
import { beforeEach, describe, expect, it } from "vitest";
import { workUnits } from "../db/schema";
import { seedUser, testDb } from "../testing/seed";
import {
  CHUNKED_SETTINGS,
  clearUnits,
  seedPendingVideo,
  seedProbedVideo,
  seedRunner,
  testDeps,
  unitsOf,
} from "../testing/units";
import { claimUnit } from "./lifecycle";
import { WATCHED_PRIORITY } from "./scheduler";
import { prioritiseForViewer, unitMakingSegment } from "./watched";

const layout = { firstChunkSeconds: 8, chunkSeconds: 20, chunks: 4, audioIds: new Set(["3"]) };

describe("unitMakingSegment", () => {
  it("finds the chunk holding a video segment's start, the last one taking the tail", () => {
    const chunkOf = (n: number) => unitMakingSegment(layout, `chunk-0-${String(n).padStart(5, "0")}.m4s`);
    // Segments 1–2: 0–8 s; 3–7: 8–28 s; 8–12: 28–48 s; 13 on: 48 s to the end.
    expect([1, 2, 3, 7, 8, 12, 13, 40].map((n) => chunkOf(n))).toEqual(
      [0, 0, 1, 1, 2, 2, 3, 3].map((sequence) => ({ kind: "chunk", sequence })),
    );
  });

  it("gives the audio's segments to the audio unit, and nothing for other files", () => {
    expect(unitMakingSegment(layout, "chunk-3-00009.m4s")).toEqual({ kind: "audio" });
    expect(unitMakingSegment(layout, "init-0.m4s")).toBeNull();
    expect(unitMakingSegment(layout, "manifest.mpd")).toBeNull();
  });
});

describe("a unit a viewer waits for", () => {
  beforeEach(clearUnits);

  it("goes before every other pending unit, also another owner's in an earlier round, and only while it waits", async () => {
    const { deps } = testDeps(CHUNKED_SETTINGS);
    const { video, job, runner } = await seedProbedVideo(deps, 4);
    // Another owner's upload waits too, with nothing of theirs running: the fair order would take it first.
    const other = await seedPendingVideo(testDeps().deps, { ownerId: (await seedUser()).id });
    const moved = await prioritiseForViewer(deps, job.id, "chunk-0-00009.m4s");
    const third = (await unitsOf(video.id)).find((u) => u.kind === "chunk" && u.sequence === 2);
    expect(moved).toBe(third?.id);
    expect((await claimUnit(deps, runner))?.unit.id).toBe(third?.id);
    // Running now: asking again moves nothing.
    expect(await prioritiseForViewer(deps, job.id, "chunk-0-00009.m4s")).toBeNull();
    // Then the fair order as before: the other owner's unit.
    expect((await claimUnit(deps, (await seedRunner()).runner))?.unit.id).toBe(other.unit.id);
    const row = await testDb()
      .select()
      .from(workUnits)
      .where(eq(workUnits.id, third?.id ?? ""))
      .get();
    expect(row?.priority).toBe(WATCHED_PRIORITY);
  });
});
