/**
 * Runners that pull, end to end, on a platform of their own as `npm start` starts it (its local
 * runner), with short leases: a burst of uploads from three accounts drained in a fair order
 * without idle time, a second runner with an admin-issued token taking work beside it and
 * killed mid-encode, and a revoked token.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Account,
  issueRunnerToken,
  type LogLine,
  localRunnerLines,
  type Platform,
  type RunnerProcess,
  signUp,
  startPlatform,
  startRunnerProcess,
  uniqueName,
  workerLines,
} from "../support/platform.ts";
import { makeClip, uploadVideo } from "../support/videos.ts";
import { adminAccount, listRunners, settledVideo, until } from "./api.ts";

const LEASE_SECONDS = 10;
const work = mkdtempSync(join(tmpdir(), "streambuddy-e2e-runners-"));
let platform: Platform;
let admin: Account;
const handStarted: RunnerProcess[] = [];

beforeAll(async () => {
  platform = await startPlatform({
    apiPort: 28787,
    transcoderPort: 28788,
    env: { VAR_UNIT_LEASE_SECONDS: String(LEASE_SECONDS) },
  });
  admin = await adminAccount(platform.apiUrl);
});
afterAll(async () => {
  await Promise.all(handStarted.map((r) => r.stop()));
  await platform?.stop();
  rmSync(work, { recursive: true, force: true });
});

const at = (line: LogLine) => Date.parse(line.ts);
const linesAbout = (lines: LogLine[], msg: string, videoIds: Set<string>) =>
  lines.filter((l) => l.msg === msg && videoIds.has(String(l.videoId)));
async function ready(account: Account, id: string) {
  const last = await settledVideo(platform.apiUrl, account, id, 280_000);
  expect(last.status, `${id}: ${JSON.stringify(last.error)}`).toBe("ready");
  return last;
}

describe("a burst of uploads with one runner", () => {
  it("brings 12 uploads from 3 accounts to ready, fairly, with no idle time while units wait", async () => {
    const clip = makeClip(join(work, "burst.mp4"), { seconds: 3, width: 640, height: 360 });
    const users = await Promise.all([0, 1, 2].map(() => signUp(platform.apiUrl, uniqueName("burst"))));
    const owner = new Map<string, number>();
    const videos = await Promise.all(
      users.flatMap((user, u) =>
        [0, 1, 2, 3].map(async (n) => {
          const video = await uploadVideo(platform.apiUrl, user, clip, `Burst ${u}.${n}`);
          owner.set(video.id, u);
          return { user, video };
        }),
      ),
    );
    for (const { user, video } of videos) await ready(user, video.id);
    const ids = new Set(owner.keys());

    const runnerLog = localRunnerLines(platform);
    const starts = linesAbout(runnerLog, "unit started", ids);
    const ends = linesAbout(runnerLog, "unit finished", ids);
    expect(starts).toHaveLength(12);
    expect(ends.map((l) => l.outcome)).toEqual(Array(12).fill("completed"));

    // Fair: every account's first video started before any account's third.
    const startsOf = (u: number) => starts.filter((l) => owner.get(String(l.videoId)) === u).map(at);
    const firsts = [0, 1, 2].map((u) => Math.min(...startsOf(u)));
    const thirds = [0, 1, 2].map((u) => [...startsOf(u)].sort((a, b) => a - b)[2] as number);
    expect(Math.max(...firsts)).toBeLessThan(Math.min(...thirds));

    // No idle time: whenever a unit ended while another one was waiting (its units had been
    // created and it had not started), the runner started the next within about a second.
    const created = new Map(linesAbout(workerLines(platform), "units created", ids).map((l) => [l.videoId, at(l)]));
    const startedAt = new Map(starts.map((l) => [l.videoId, at(l)]));
    const startTimes = starts.map(at).sort((a, b) => a - b);
    const gaps: number[] = [];
    for (const end of ends.map(at)) {
      const next = startTimes.find((t) => t >= end);
      const waiting = [...ids].some(
        (id) => (created.get(id) ?? Number.POSITIVE_INFINITY) < end && (startedAt.get(id) ?? 0) > end,
      );
      if (next !== undefined && waiting) gaps.push(next - end);
    }
    console.log(`idle between units while others waited (ms): ${gaps.join(", ")}`);
    expect(gaps.length).toBeGreaterThanOrEqual(8);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(1500);
  });
});

describe("a second runner, with an admin-issued token", () => {
  let second: RunnerProcess;
  let secondId: string;
  let clip: string;

  beforeAll(async () => {
    clip = makeClip(join(work, "longer.mp4"), { seconds: 12, width: 1280, height: 720 });
    const issued = await issueRunnerToken(platform.apiUrl, admin, "second-box");
    secondId = issued.id;
    second = await startRunnerProcess({ apiUrl: platform.apiUrl, token: issued.token });
    handStarted.push(second);
  });

  it("takes work beside the local runner; killed mid-encode, its unit is claimed again once its lease runs out", async () => {
    const account = await signUp(platform.apiUrl, uniqueName("second"));
    const localBefore = localRunnerLines(platform).length;
    const videos = await Promise.all([1, 2].map((n) => uploadVideo(platform.apiUrl, account, clip, `Second ${n}`)));
    const ids = new Set(videos.map((v) => v.id));
    // Both runners took one: each works one unit at a time.
    const taken = await until(
      () => linesAbout(second.lines(), "unit started", ids)[0],
      "the second runner to take a unit",
    );
    const local = await until(
      () => linesAbout(localRunnerLines(platform).slice(localBefore), "unit started", ids)[0],
      "the local runner to take a unit",
    );
    expect(local.videoId).not.toBe(taken.videoId);
    const listed = await listRunners(platform.apiUrl, admin);
    expect(listed.find((r) => r.id === secondId)?.current_unit?.id).toBe(taken.unitId);

    await until(() => second.lines().find((l) => l.msg === "ffmpeg started"), "the second runner's encode");
    second.kill("SIGKILL");
    await second.exited;

    for (const video of videos) await ready(account, video.id);
    // The killed runner's unit went back once its lease ran out, and ran again as a new attempt.
    const requeued = workerLines(platform).find((l) => l.msg === "unit requeued" && l.unitId === taken.unitId);
    expect(requeued).toMatchObject({ reason: "lease_expired", runnerId: secondId, attempt: 1 });
    const again = localRunnerLines(platform).find((l) => l.msg === "unit started" && l.unitId === taken.unitId);
    expect(again).toMatchObject({ attempt: 2 });
  });

  it("refuses a revoked token: its claim, its unit's calls, and the runner ends", async () => {
    const account = await signUp(platform.apiUrl, uniqueName("revoked"));
    const issued = await issueRunnerToken(platform.apiUrl, admin, "revoked-box");
    const third = await startRunnerProcess({ apiUrl: platform.apiUrl, token: issued.token });
    handStarted.push(third);
    const videos = await Promise.all([1, 2].map((n) => uploadVideo(platform.apiUrl, account, clip, `Revoked ${n}`)));
    const ids = new Set(videos.map((v) => v.id));
    const taken = await until(() => linesAbout(third.lines(), "unit started", ids)[0], "the third runner to take one");

    const revoked = await fetch(`${platform.apiUrl}/api/admin/runners/${issued.id}/`, {
      method: "DELETE",
      headers: admin.auth,
    });
    expect(revoked.status).toBe(204);
    const claim = await fetch(`${platform.apiUrl}/internal/runners/claim`, {
      method: "POST",
      headers: { authorization: `Bearer ${issued.token}`, "content-type": "application/json" },
      body: JSON.stringify({ wait_seconds: 0 }),
    });
    expect(claim.status).toBe(401);
    expect(((await claim.json()) as { error: { code: string; message: string } }).error).toMatchObject({
      code: "unauthorized",
      message: "This runner's token was revoked",
    });

    // Its unit's next call is refused, it stops the unit and then itself.
    expect(await third.exited).toBe(78);
    const lines = third.lines();
    expect(lines.find((l) => l.msg === "unit stopped by the platform")).toMatchObject({
      unitId: taken.unitId,
      status: 401,
    });
    expect(lines.map((l) => l.msg)).toContain("runner token refused; stopping");
    // The unit went back at once, counted against nothing, and another runner finished it.
    expect(workerLines(platform).find((l) => l.msg === "unit requeued" && l.unitId === taken.unitId)).toMatchObject({
      reason: "revoked",
    });
    for (const video of videos) await ready(account, video.id);
  });
});
