/**
 * Faults, end to end: the Worker restarted during a resumable upload and while runners long-poll,
 * no runner at all for a while, and the source deleted in the middle of a job. After each, nothing
 * is left behind in R2 and no video is stuck in `processing`.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, inject, it } from "vitest";
import {
  type Account,
  issueRunnerToken,
  localWrangler,
  type Platform,
  type RunnerProcess,
  signUp,
  startPlatform,
  startRunnerProcess,
  uniqueName,
  workerLines,
} from "../support/platform.ts";
import { makeClip, uploadVideo } from "../support/videos.ts";
import { adminAccount, getVideo, settledVideo, sha256Response, storedObjects, until, waitForVideo } from "./api.ts";

const MiB = 1024 * 1024;
const root = join(import.meta.dirname, "..", "..");
const work = mkdtempSync(join(tmpdir(), "streambuddy-e2e-faults-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const b64 = (s: string) => Buffer.from(s).toString("base64");
const tus = { "tus-resumable": "1.0.0" };

async function uploadSmall(api: string, account: Account, title: string) {
  const form = new FormData();
  form.append("title", title);
  form.append(
    "file",
    new Blob([readFileSync(join(root, "test", "fixtures", "tiny.mp4"))], { type: "video/mp4" }),
    "t.mp4",
  );
  const res = await fetch(`${api}/api/videos/upload/`, { method: "POST", headers: account.auth, body: form });
  expect(res.status).toBe(201);
  return (await res.json()) as { id: string };
}

describe("with the Worker restarted, and no runner but those started by hand", () => {
  const stateDir = mkdtempSync(join(tmpdir(), "streambuddy-e2e-faults-state-"));
  const options = { apiPort: 38787, transcoderPort: 38788, stateDir, localRunner: false };
  let platform: Platform | undefined;
  let runner: RunnerProcess | undefined;
  afterAll(async () => {
    await runner?.stop();
    await platform?.stop();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it("resumes a tus upload across a restart of the Worker, byte for byte", async () => {
    let platform = await startPlatform(options);
    const account = await signUp(platform.apiUrl, uniqueName("restart"));
    const data = randomBytes(24 * MiB);
    Buffer.from([0, 0, 0, 0x20, 0x66, 0x74, 0x79, 0x70, 0x69, 0x73, 0x6f, 0x6d]).copy(data, 0);
    const created = await fetch(`${platform.apiUrl}/api/uploads/`, {
      method: "POST",
      headers: {
        ...account.auth,
        ...tus,
        "upload-length": String(data.length),
        "upload-metadata": `title ${b64("Across a restart")},filetype ${b64("video/mp4")}`,
      },
    });
    expect(created.status).toBe(201);
    const path = new URL(created.headers.get("location") ?? "").pathname;
    const patch = (base: string, from: number, to: number) =>
      fetch(`${base}${path}`, {
        method: "PATCH",
        headers: {
          ...account.auth,
          ...tus,
          "upload-offset": String(from),
          "content-type": "application/offset+octet-stream",
        },
        body: data.subarray(from, to),
      });
    expect((await patch(platform.apiUrl, 0, 10 * MiB + 5)).status).toBe(204);

    await platform.stop();
    platform = await startPlatform(options);
    try {
      const head = await fetch(`${platform.apiUrl}${path}`, { method: "HEAD", headers: { ...account.auth, ...tus } });
      expect(head.status).toBe(200);
      const offset = Number(head.headers.get("upload-offset"));
      expect(offset).toBe(10 * MiB + 5);
      expect((await patch(platform.apiUrl, offset, data.length)).status).toBe(204);
      const videoId = path.slice(path.lastIndexOf("/") + 1);
      const source = await fetch(`${platform.apiUrl}/api/videos/${videoId}/source/`, { headers: account.auth });
      const { createHash } = await import("node:crypto");
      expect(await sha256Response(source)).toBe(createHash("sha256").update(data).digest("hex"));
    } finally {
      await platform.stop();
    }
  });

  it("keeps a video queued while no runner exists, never failing it, and completes it once one comes", async () => {
    platform = await startPlatform(options);
    const admin = await adminAccount(platform.apiUrl);
    const account = await signUp(platform.apiUrl, uniqueName("norunner"));
    const video = await uploadSmall(platform.apiUrl, account, "Nobody home yet");
    const running = platform;
    await until(
      () => workerLines(running).find((l) => l.msg === "units created" && l.videoId === video.id),
      "the video's units",
    );
    // A while with nobody to claim it (several sweeps run meanwhile): it waits in line, its place
    // unchanged (the earlier test's upload on this data may be ahead of it, if its units exist).
    const first = await getVideo(platform.apiUrl, account, video.id);
    expect(first).toMatchObject({ status: "queued", error: null });
    expect(first.queue_position).toBeTypeOf("number");
    const deadline = Date.now() + 8_000;
    while (Date.now() < deadline) {
      expect(await getVideo(platform.apiUrl, account, video.id)).toMatchObject({
        status: "queued",
        error: null,
        queue_position: first.queue_position,
      });
      await new Promise((r) => setTimeout(r, 500));
    }

    const issued = await issueRunnerToken(platform.apiUrl, admin, "came-later");
    runner = await startRunnerProcess({ apiUrl: platform.apiUrl, token: issued.token });
    expect((await settledVideo(platform.apiUrl, account, video.id)).status).toBe("ready");
    expect(runner.lines().find((l) => l.msg === "unit finished" && l.videoId === video.id)).toMatchObject({
      videoId: video.id,
      outcome: "completed",
    });
  });

  it("lets runners long-poll through a restart of the Worker: they reconnect and carry on", async () => {
    const hand = runner as RunnerProcess;
    // The runner is waiting in a claim when the Worker goes away.
    await until(async () => {
      const health = (await (await fetch(hand.healthUrl)).json()) as { state: string };
      return health.state === "claiming" ? true : undefined;
    }, "the runner to wait for work");
    await platform?.stop();
    platform = await startPlatform(options);
    const account = await signUp(platform.apiUrl, uniqueName("after"));
    const video = await uploadSmall(platform.apiUrl, account, "After the restart");
    expect((await settledVideo(platform.apiUrl, account, video.id)).status).toBe("ready");
    const lines = hand.lines().map((l) => l.msg);
    // It lost the Worker, retried, found it again, and took the new unit.
    expect(lines).toContain("claim failed; retrying");
    expect(lines.lastIndexOf("worker reachable again")).toBeGreaterThan(lines.indexOf("claim failed; retrying"));
    expect(hand.lines().find((l) => l.msg === "unit started" && l.videoId === video.id)).toBeTruthy();
    expect(hand.process.exitCode).toBeNull();
  });
});

describe("with the source deleted in the middle of a job", () => {
  const api = inject("apiUrl");
  const localRunner = inject("runnerUrl");
  const stateDir = inject("stateDir");

  it("fails the video cleanly: a reason, no stuck status, no partial outputs", async () => {
    const admin = await adminAccount(api);
    const account = await signUp(api, uniqueName("gone"));
    // Long enough that the encode cannot finish while the source is being deleted.
    const path = makeClip(join(work, "long.mp4"), { seconds: 90, width: 1280, height: 720, audio: false });
    const video = await uploadVideo(api, account, path, "Source goes away");
    await waitForVideo(api, account, video.id, (v) => v.status === "processing" && v.progress >= 5, 120_000);
    // The source disappears from storage, and the runner working on it dies with it: npm start
    // starts it again, and the attempts after that find nothing to read. The runner and its ffmpeg
    // (its process group) are frozen first, so however fast this machine encodes, nothing it
    // already read can be finished and stored while the source goes.
    const { pid } = (await (await fetch(`${localRunner}/healthz`)).json()) as { pid: number };
    process.kill(-pid, "SIGSTOP");
    try {
      localWrangler(["r2", "object", "delete", `streambuddy-media/sources/${video.id}`], stateDir);
    } finally {
      process.kill(pid, "SIGKILL");
    }
    const states = await waitForVideo(
      api,
      account,
      video.id,
      (v) => v.status === "failed" || v.status === "ready",
      240_000,
    );
    const last = states.at(-1);
    expect(last?.status).toBe("failed");
    expect(last?.error?.message.length).toBeGreaterThan(10);
    expect(await storedObjects(api, admin, video.id)).toEqual([]);
  });
});
