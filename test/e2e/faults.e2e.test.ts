/**
 * Faults, end to end: the Worker restarted during a resumable upload, no transcoder reachable at
 * dispatch, and the source deleted in the middle of a job. After each, nothing is left behind in
 * R2 and no video is stuck in `processing`.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, inject, it } from "vitest";
import { type Account, localWrangler, logIn, signUp, startPlatform, uniqueName } from "../support/platform.ts";
import { sha256Response, storedObjects, waitForVideo } from "./api.ts";

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

describe("with the Worker restarted and no transcoder reachable", () => {
  const stateDir = mkdtempSync(join(tmpdir(), "streambuddy-e2e-faults-state-"));
  const options = {
    apiPort: 38787,
    transcoderPort: 38788,
    stateDir,
    // Jobs go nowhere: the dispatch is retried quickly (1, 2, 4, 8, 16 s), then the video fails.
    env: { VAR_TRANSCODER_URL: "http://127.0.0.1:9", VAR_JOB_RETRY_BASE_SECONDS: "1" },
  };
  afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

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

  it("retries the dispatch, then fails the video with a readable reason, leaving only the original", async () => {
    const platform = await startPlatform(options);
    try {
      const admin = await signUp(platform.apiUrl, "e2eadmin");
      const account = await signUp(platform.apiUrl, uniqueName("unreachable"));
      const video = await uploadSmall(platform.apiUrl, account, "Nobody home");
      const states = await waitForVideo(platform.apiUrl, account, video.id, (v) => v.status === "failed", 120_000);
      const last = states.at(-1);
      expect(last?.error?.code).toBe("transcode_failed");
      expect(last?.error?.message).toMatch(/No transcoder could be reached after \d+ deliveries/);
      expect(states.some((s) => s.status === "processing")).toBe(false);
      expect(await storedObjects(platform.apiUrl, admin, video.id)).toEqual([`sources/${video.id}`]);
    } finally {
      await platform.stop();
    }
  });
});

describe("with the source deleted in the middle of a job", () => {
  const api = inject("apiUrl");
  const transcoder = inject("transcoderUrl");
  const stateDir = inject("stateDir");

  it("fails the video cleanly: a reason, no stuck status, no partial outputs", async () => {
    const admin = await signUp(api, "e2eadmin").catch(() => null);
    const adminAccount = admin ?? (await logIn(api, "e2eadmin"));
    const account = await signUp(api, uniqueName("gone"));
    const path = join(work, "long.mp4");
    execFileSync("ffmpeg", [
      ...[
        "-hide_banner",
        "-loglevel",
        "error",
        "-y",
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=1280x720:rate=30:duration=30",
      ],
      ...["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", path],
    ]);
    const form = new FormData();
    form.append("title", "Source goes away");
    form.append("file", new Blob([readFileSync(path)], { type: "video/mp4" }), "long.mp4");
    const res = await fetch(`${api}/api/videos/upload/`, { method: "POST", headers: account.auth, body: form });
    const video = (await res.json()) as { id: string };
    await waitForVideo(api, account, video.id, (v) => v.status === "processing" && v.progress >= 5, 120_000);
    // The source disappears from storage, and the transcoder working on it dies with it: the
    // retry finds nothing to read.
    localWrangler(["r2", "object", "delete", `streambuddy-media/sources/${video.id}`], stateDir);
    const { pid } = (await (await fetch(`${transcoder}/healthz`)).json()) as { pid: number };
    process.kill(pid, "SIGKILL");
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
    expect(await storedObjects(api, adminAccount, video.id)).toEqual([]);
  });
});
