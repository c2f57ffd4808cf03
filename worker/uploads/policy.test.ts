import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { loadSettings } from "../app/settings";
import { mp4Like } from "../testing/http";
import { seedUser, seedVideo, testDb } from "../testing/seed";
import { loadUploadPolicy } from "./policy";

const settingsWith = (vars: Record<string, string>) =>
  loadSettings({ ...env, ...vars } as unknown as Record<string, unknown>);

const refusal = (fn: () => void) => {
  try {
    fn();
  } catch (err) {
    const e = err as { status: number; code: string; message: string; details?: unknown };
    return { status: e.status, code: e.code, message: e.message, details: e.details };
  }
  return null;
};

describe("the upload policy's size rule", () => {
  it("refuses above MAX_UPLOAD_SIZE with 413, whatever the quota", async () => {
    const user = await seedUser();
    const policy = await loadUploadPolicy(testDb(), settingsWith({ MAX_UPLOAD_SIZE: "1000" }), user.id);
    expect(refusal(() => policy.checkSize(1000))).toBeNull();
    expect(refusal(() => policy.checkSize(1001))).toMatchObject({
      status: 413,
      code: "payload_too_large",
      message: "An upload is at most 1000 bytes",
    });
  });

  it("counts every other video of the owner (unfinished ones at their declared length), not its own", async () => {
    const user = await seedUser();
    await seedVideo({ ownerId: user.id, size: 6000 });
    const own = await seedVideo({ ownerId: user.id, size: 3000, status: "uploading" });
    await seedVideo({ size: 50_000 }); // another user's
    const settings = settingsWith({ USER_STORAGE_QUOTA_BYTES: "10000" });
    const fresh = await loadUploadPolicy(testDb(), settings, user.id);
    expect(refusal(() => fresh.checkSize(1000))).toBeNull();
    expect(refusal(() => fresh.checkSize(1001))).toMatchObject({
      status: 413,
      code: "payload_too_large",
      message: "This upload would exceed your storage quota of 10000 bytes",
    });
    const writing = await loadUploadPolicy(testDb(), settings, user.id, { except: own.id });
    expect(refusal(() => writing.checkSize(4000))).toBeNull();
    expect(refusal(() => writing.checkSize(4001))?.status).toBe(413);
  });

  it("has no quota at 0", async () => {
    const user = await seedUser();
    await seedVideo({ ownerId: user.id, size: 10 ** 12 });
    const policy = await loadUploadPolicy(testDb(), settingsWith({ USER_STORAGE_QUOTA_BYTES: "0" }), user.id);
    expect(refusal(() => policy.checkSize(10 ** 9))).toBeNull();
  });
});

describe("the upload policy's type, head and field rules", () => {
  it("refuses a declared type outside the allow-list, and bytes that are not a video, with 415", async () => {
    const policy = await loadUploadPolicy(testDb(), settingsWith({}), (await seedUser()).id);
    expect(refusal(() => policy.checkType("video/mp4"))).toBeNull();
    expect(refusal(() => policy.checkType("application/octet-stream"))).toBeNull();
    expect(refusal(() => policy.checkType("image/png"))).toMatchObject({ status: 415, message: /not an accepted/ });
    expect(refusal(() => policy.checkHead("video/mp4", mp4Like(400)))).toBeNull();
    const text = new TextEncoder().encode("hello ".repeat(100));
    expect(refusal(() => policy.checkHead("video/mp4", text))).toMatchObject({ status: 415, message: /not a video/ });
    expect(refusal(() => policy.checkHead("video/mp4", new Uint8Array(0)))).toMatchObject({
      status: 400,
      details: [{ path: "file", message: "The file is empty" }],
    });
  });

  it("gives its write checks the same rules", async () => {
    const policy = await loadUploadPolicy(testDb(), settingsWith({ MAX_UPLOAD_SIZE: "1000" }), (await seedUser()).id);
    const checks = policy.writeChecks("video/webm");
    expect(refusal(() => checks.size?.(1001))?.message).toBe("An upload is at most 1000 bytes");
    expect(refusal(() => checks.head?.(mp4Like(400)))?.message).toMatch(/declared as video\/webm/);
  });

  it("answers invalid fields with 400 and the details of each", async () => {
    const policy = await loadUploadPolicy(testDb(), settingsWith({}), (await seedUser()).id);
    expect(policy.checkFields({ title: " Hi " }, "fields")).toMatchObject({ title: "Hi", visibility: "public" });
    expect(refusal(() => policy.checkFields({ title: "", visibility: "everyone" }, "metadata"))).toMatchObject({
      status: 400,
      code: "validation_error",
      message: "Invalid upload metadata",
      details: [expect.objectContaining({ path: "title" }), expect.objectContaining({ path: "visibility" })],
    });
  });
});
