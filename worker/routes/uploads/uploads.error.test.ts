import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { uploads, videos } from "../../db/schema";
import { callApp, recordingQueue, signedInUser } from "../../testing/api";
import { form, mp4Like, TUS, tusMetadata } from "../../testing/http";
import { testDb, tinyMp4 } from "../../testing/seed";

const TEXT = new TextEncoder().encode("this is plain text pretending to be an mp4\n".repeat(200));

async function objectKeys() {
  const keys: string[] = [];
  for (const prefix of ["sources/", "uploads/", "videos/"]) {
    keys.push(...(await env.MEDIA.list({ prefix })).objects.map((o) => o.key));
  }
  return keys.sort();
}

/** Nothing of this user's is left: no video row, no upload row, and no object added since `before`. */
async function expectNothingStored(userId: string, before: string[]) {
  expect(await testDb().select().from(videos).where(eq(videos.ownerId, userId)).all()).toEqual([]);
  expect(await testDb().select().from(uploads).where(eq(uploads.userId, userId)).all()).toEqual([]);
  expect(await objectKeys()).toEqual(before);
}

async function errorOf(res: Response) {
  return ((await res.json()) as { error: { code: string; message: string; details?: unknown } }).error;
}

const classic = (auth: Record<string, string>, fields: Record<string, string | Blob>, vars?: Record<string, string>) =>
  callApp("/api/videos/upload/", { method: "POST", headers: auth, body: form(fields) }, recordingQueue().queue, vars);

const tusCreate = (
  auth: Record<string, string>,
  length: number,
  meta: Record<string, string>,
  vars?: Record<string, string>,
) =>
  callApp(
    "/api/uploads/",
    {
      method: "POST",
      headers: { ...auth, ...TUS, "upload-length": String(length), "upload-metadata": tusMetadata(meta) },
    },
    recordingQueue().queue,
    vars,
  );

describe("upload refusals", () => {
  it("refuses uploads without authentication with 401", async () => {
    const res = await classic({}, { title: "x", file: new Blob([tinyMp4()], { type: "video/mp4" }) });
    expect(res.status).toBe(401);
    const tus = await tusCreate({}, 100, { title: "x", filetype: "video/mp4" });
    expect(tus.status).toBe(401);
    expect((await errorOf(tus)).code).toBe("unauthorized");
  });

  it("refuses a text file sent as a video with 415 and a clear message, keeping nothing", async () => {
    const user = await signedInUser();
    const before = await objectKeys();
    const res = await classic(user.auth, { title: "Not a video", file: new Blob([TEXT], { type: "video/mp4" }) });
    expect(res.status).toBe(415);
    expect((await errorOf(res)).message).toMatch(/not a video/);
    await expectNothingStored(user.id, before);
  });

  it("refuses a text file sent through tus with 415 on its first bytes, keeping nothing", async () => {
    const user = await signedInUser();
    const before = await objectKeys();
    const created = await tusCreate(user.auth, TEXT.length, {
      title: "Sneaky",
      filetype: "video/mp4",
      filename: "a.mp4",
    });
    expect(created.status).toBe(201);
    const path = new URL(created.headers.get("location") ?? "").pathname;
    const res = await callApp(path, {
      method: "PATCH",
      headers: { ...user.auth, ...TUS, "upload-offset": "0", "content-type": "application/offset+octet-stream" },
      body: TEXT,
    });
    expect(res.status).toBe(415);
    expect((await errorOf(res)).code).toBe("unsupported_media_type");
    await expectNothingStored(user.id, before);
  });

  it("refuses a declared type outside the allow-list with 415", async () => {
    const user = await signedInUser();
    const before = await objectKeys();
    const res = await classic(user.auth, { title: "Image", file: new Blob([tinyMp4()], { type: "image/png" }) });
    expect(res.status).toBe(415);
    const tus = await tusCreate(user.auth, 100, { title: "Image", filetype: "image/png" });
    expect(tus.status).toBe(415);
    await expectNothingStored(user.id, before);
  });

  it("refuses uploads above MAX_UPLOAD_SIZE with 413", async () => {
    const user = await signedInUser();
    const before = await objectKeys();
    const vars = { MAX_UPLOAD_SIZE: "1000" };
    const res = await classic(
      user.auth,
      { title: "Big", file: new Blob([mp4Like(5000)], { type: "video/mp4" }) },
      vars,
    );
    expect(res.status).toBe(413);
    const tus = await tusCreate(user.auth, 5000, { title: "Big", filetype: "video/mp4" }, vars);
    expect(tus.status).toBe(413);
    await expectNothingStored(user.id, before);
  });

  it("refuses uploads past the storage quota with 413", async () => {
    const user = await signedInUser();
    const vars = { USER_STORAGE_QUOTA_BYTES: "20000" };
    const first = await classic(user.auth, { title: "One", file: new Blob([tinyMp4()], { type: "video/mp4" }) }, vars);
    expect(first.status).toBe(201);
    const second = await tusCreate(user.auth, 10_000, { title: "Two", filetype: "video/mp4" }, vars);
    expect(second.status).toBe(413);
    expect((await errorOf(second)).message).toMatch(/quota/);
  });

  it.each([
    ["an empty title", "   "],
    ["a title over 200 characters", "x".repeat(201)],
    ["control characters", "bad\u0007title"],
  ])("refuses %s with 400 and field details, keeping nothing", async (_, title) => {
    const user = await signedInUser();
    const before = await objectKeys();
    const res = await classic(user.auth, { title, file: new Blob([tinyMp4()], { type: "video/mp4" }) });
    expect(res.status).toBe(400);
    const error = await errorOf(res);
    expect(error.code).toBe("validation_error");
    expect(error.details).toEqual([expect.objectContaining({ path: "title" })]);
    const tus = await tusCreate(user.auth, 100, { title, filetype: "video/mp4" });
    expect(tus.status).toBe(400);
    await expectNothingStored(user.id, before);
  });

  it("refuses a bad title sent after the file, and drops the bytes already stored", async () => {
    const user = await signedInUser();
    const before = await objectKeys();
    const body = new FormData();
    body.append("file", new Blob([mp4Like(9 * 1024 * 1024)], { type: "video/mp4" }), "a.mp4");
    body.append("title", "");
    const res = await callApp(
      "/api/videos/upload/",
      { method: "POST", headers: user.auth, body },
      recordingQueue().queue,
    );
    expect(res.status).toBe(400);
    await expectNothingStored(user.id, before);
  });

  it("refuses a form without a file, and a body that is not multipart", async () => {
    const user = await signedInUser();
    const noFile = await classic(user.auth, { title: "No file" });
    expect(noFile.status).toBe(400);
    expect((await errorOf(noFile)).details).toEqual([expect.objectContaining({ path: "file" })]);
    const json = await callApp("/api/videos/upload/", {
      method: "POST",
      headers: { ...user.auth, "content-type": "application/json" },
      body: "{}",
    });
    expect(json.status).toBe(415);
  });

  it("refuses the 11th upload of a day with 429 while other calls still pass", async () => {
    const user = await signedInUser();
    for (let i = 0; i < 10; i++) {
      const res = await classic(user.auth, { title: `Video ${i}`, file: new Blob([tinyMp4()], { type: "video/mp4" }) });
      expect(res.status).toBe(201);
    }
    const eleventh = await classic(user.auth, {
      title: "One too many",
      file: new Blob([tinyMp4()], { type: "video/mp4" }),
    });
    expect(eleventh.status).toBe(429);
    expect(eleventh.headers.get("retry-after")).toMatch(/^\d+$/);
    const viaTus = await tusCreate(user.auth, 100, { title: "Also too many", filetype: "video/mp4" });
    expect(viaTus.status).toBe(429);
    const me = await callApp("/api/auth/user/", { headers: user.auth });
    expect(me.status).toBe(200);
    const rows = await testDb().select().from(videos).where(eq(videos.ownerId, user.id)).all();
    expect(rows).toHaveLength(10);
  });
});
