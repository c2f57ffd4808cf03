import { describe, expect, it } from "vitest";
import { callApp, signedInUser } from "../../testing/api";
import { seedReadyVideo, seedVideo } from "../../testing/seed";

describe("GET /api/admin/stats/", () => {
  it("counts videos by status, jobs, failures and storage for admins", async () => {
    const admin = await signedInUser({ username: "chief" });
    await seedReadyVideo({ size: 1000 });
    await seedVideo({ status: "failed", errorCode: "not_video", size: 50 });
    const res = await callApp("/api/admin/stats/", { headers: admin.auth }, undefined, {
      ADMIN_USERNAMES: "Chief, other",
    });
    expect(res.status).toBe(200);
    const stats = (await res.json()) as {
      videos: Record<string, number>;
      failures_last_day: { videos: number };
      stored_source_bytes: number;
      queue_depth: number;
    };
    expect(stats.videos).toMatchObject({ ready: 1, failed: 1, uploading: 0 });
    expect(stats.failures_last_day.videos).toBe(1);
    expect(stats.stored_source_bytes).toBe(1050);
    expect(stats.queue_depth).toBe(0);
  });

  it("shows the backlog, the units running and each runner's throughput", async () => {
    const { clearUnits, seedPendingVideo, seedRunner, testDeps, claimRequest } = await import("../../testing/units");
    await clearUnits();
    const admin = await signedInUser({ username: "stats-admin" });
    const { deps } = testDeps();
    await seedPendingVideo(deps);
    await seedPendingVideo(deps);
    const { runner, token } = await seedRunner("busy-one");
    expect((await claimRequest(token, { wait_seconds: 0 })).status).toBe(200);
    const res = await callApp("/api/admin/stats/", { headers: admin.auth }, undefined, {
      ADMIN_USERNAMES: "stats-admin",
    });
    const stats = (await res.json()) as {
      backlog: { pending_units: number; running_units: number; oldest_pending_since: string | null };
      runners: { id: string; units_running: number; seconds_per_unit: number | null }[];
      jobs: Record<string, number>;
    };
    expect(stats.backlog).toMatchObject({ pending_units: 1, running_units: 1 });
    expect(stats.backlog.oldest_pending_since).not.toBeNull();
    expect(stats.runners.find((r) => r.id === runner.id)).toMatchObject({ units_running: 1, seconds_per_unit: null });
    expect(stats.jobs).toMatchObject({
      queued: expect.any(Number),
      running: expect.any(Number),
      cancelled: expect.any(Number),
    });
  });

  it("is refused to everyone else", async () => {
    const user = await signedInUser();
    expect((await callApp("/api/admin/stats/", { headers: user.auth })).status).toBe(403);
    expect((await callApp("/api/admin/stats/", {})).status).toBe(401);
  });
});

describe("GET /api/admin/videos/{id}/storage/", () => {
  it("lists every object of a video, and nothing of a deleted one", async () => {
    const { env } = await import("cloudflare:workers");
    const admin = await signedInUser({ username: "keeper" });
    const vars = { ADMIN_USERNAMES: "keeper" };
    const v = await seedReadyVideo();
    await env.MEDIA.put(`sources/${v.id}`, "src");
    const res = await callApp(`/api/admin/videos/${v.id}/storage/`, { headers: admin.auth }, undefined, vars);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { objects: { key: string }[] };
    expect(body.objects.map((o) => o.key)).toEqual(
      expect.arrayContaining([`sources/${v.id}`, `${v.prefix}manifest.mpd`, `${v.prefix}poster.jpg`]),
    );
    expect(body.objects).toHaveLength(Object.keys(v.files).length + 1);
    const other = await callApp(
      `/api/admin/videos/${crypto.randomUUID()}/storage/`,
      { headers: admin.auth },
      undefined,
      vars,
    );
    expect(((await other.json()) as { objects: unknown[] }).objects).toEqual([]);
    const user = await signedInUser();
    expect((await callApp(`/api/admin/videos/${v.id}/storage/`, { headers: user.auth })).status).toBe(403);
  });
});
