import { describe, expect, it } from "vitest";
import { callApp } from "../../testing/http";
import { seedReadyVideo, seedUserWithKey, seedVideo } from "../../testing/seed";

describe("GET /api/admin/stats/", () => {
  it("counts videos by status, jobs, failures and storage for admins", async () => {
    const admin = await seedUserWithKey("chief");
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

  it("is refused to everyone else", async () => {
    const user = await seedUserWithKey();
    expect((await callApp("/api/admin/stats/", { headers: user.auth })).status).toBe(403);
    expect((await callApp("/api/admin/stats/", {})).status).toBe(401);
  });
});
