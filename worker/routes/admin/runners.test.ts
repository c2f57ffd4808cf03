import { eq } from "drizzle-orm";
import { beforeEach, describe, expect, it } from "vitest";
import { runners } from "../../db/schema";
import { callApp, signedInUser } from "../../testing/api";
import { testDb } from "../../testing/seed";
import { claimRequest, clearUnits, seedPendingVideo, testDeps, unitEvent, unitRow } from "../../testing/units";

const vars = { ADMIN_USERNAMES: "boss" };
let admin: Awaited<ReturnType<typeof signedInUser>>;
beforeEach(async () => {
  await clearUnits();
  admin ??= await signedInUser({ username: "boss" });
});

const create = (name: unknown, headers = admin.auth) =>
  callApp(
    "/api/admin/runners/",
    { method: "POST", headers: { ...headers, "content-type": "application/json" }, body: JSON.stringify({ name }) },
    undefined,
    vars,
  );

interface RunnerJson {
  id: string;
  name: string;
  kind: string;
  token?: string;
  last_contact_at: string | null;
  revoked_at: string | null;
  current_unit: { id: string; video_id: string } | null;
  units_running: number;
  units_done: number;
  units_failed: number;
}

const list = async () => {
  const res = await callApp("/api/admin/runners/", { headers: admin.auth }, undefined, vars);
  expect(res.status).toBe(200);
  return ((await res.json()) as { results: RunnerJson[] }).results;
};

describe("POST /api/admin/runners/", () => {
  it("issues a runner token once and keeps only its hash", async () => {
    const res = await create("gpu-box");
    expect(res.status).toBe(201);
    const body = (await res.json()) as RunnerJson;
    expect(body).toMatchObject({ name: "gpu-box", kind: "remote", revoked_at: null, units_done: 0 });
    expect(body.token).toMatch(/^sbr_[0-9a-f]{64}$/);
    const row = await testDb().select().from(runners).where(eq(runners.id, body.id)).get();
    expect(row?.tokenHash).not.toContain(body.token?.slice(4, 20));
    expect((await list()).find((r) => r.id === body.id)).not.toHaveProperty("token");
    // The token claims work.
    expect((await claimRequest(body.token ?? "", { wait_seconds: 0 })).status).toBe(204);
  });

  it.each([
    ["an empty name", ""],
    ["a name of 101 characters", "x".repeat(101)],
    ["a control character", "a\u0007b"],
  ])("refuses %s with 400", async (_, name) => {
    expect((await create(name)).status).toBe(400);
  });

  it("is for admins only", async () => {
    const user = await signedInUser();
    expect((await create("mine", user.auth)).status).toBe(403);
    expect((await create("mine", {} as typeof admin.auth)).status).toBe(401);
    expect((await callApp("/api/admin/runners/", { headers: user.auth }, undefined, vars)).status).toBe(403);
  });
});

describe("GET /api/admin/runners/", () => {
  it("shows each runner's last contact, current unit, and units done and failed", async () => {
    const { deps } = testDeps();
    const { video, unit } = await seedPendingVideo(deps);
    const made = (await (await create("worker-a")).json()) as RunnerJson;
    const claim = await claimRequest(made.token ?? "", { wait_seconds: 0 });
    const { unit: assignment } = (await claim.json()) as { unit: { token: string } };
    let shown = (await list()).find((r) => r.id === made.id);
    expect(shown?.last_contact_at).not.toBeNull();
    expect(shown?.current_unit).toMatchObject({ id: unit.id, video_id: video.id });
    expect(shown?.units_running).toBe(1);
    await unitEvent(unit.id, assignment.token, { type: "failed", code: "not_video", message: "No video stream" });
    shown = (await list()).find((r) => r.id === made.id);
    expect(shown).toMatchObject({ current_unit: null, units_running: 0, units_failed: 1, units_done: 0 });
  });
});

describe("DELETE /api/admin/runners/{id}/", () => {
  it("revokes the token: its next claim and event are refused, and its unit goes back to pending at once", async () => {
    const { deps } = testDeps();
    const { unit } = await seedPendingVideo(deps);
    const made = (await (await create("leaving")).json()) as RunnerJson;
    const claim = await claimRequest(made.token ?? "", { wait_seconds: 0 });
    const { unit: assignment } = (await claim.json()) as { unit: { token: string } };
    const res = await callApp(
      `/api/admin/runners/${made.id}/`,
      { method: "DELETE", headers: admin.auth },
      undefined,
      vars,
    );
    expect(res.status).toBe(204);
    expect((await unitRow(unit.id)).status).toBe("pending");
    expect((await claimRequest(made.token ?? "", { wait_seconds: 0 })).status).toBe(401);
    expect((await unitEvent(unit.id, assignment.token, { type: "progress", progress: 3 })).status).toBe(401);
    expect((await list()).find((r) => r.id === made.id)?.revoked_at).not.toBeNull();
    // Revoking again changes nothing; an unknown runner is 404.
    expect(
      (await callApp(`/api/admin/runners/${made.id}/`, { method: "DELETE", headers: admin.auth }, undefined, vars))
        .status,
    ).toBe(204);
    expect(
      (await callApp("/api/admin/runners/nope/", { method: "DELETE", headers: admin.auth }, undefined, vars)).status,
    ).toBe(404);
  });
});
