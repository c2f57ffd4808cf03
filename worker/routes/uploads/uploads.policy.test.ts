/**
 * One upload policy for both ways in: the same upload refused through the classic form and
 * through tus gets the same status, code and message, and leaves nothing behind either way.
 */
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { videos } from "../../db/schema";
import { expectNothingStored, expectRefusal } from "../../security/bad-input.helpers";
import { callApp, recordingQueue, signedInUser } from "../../testing/api";
import { form, mp4Like, TUS, tusMetadata } from "../../testing/http";
import { seedVideo, testDb } from "../../testing/seed";

type Auth = Record<string, string>;

const classic = (auth: Auth, file: Blob, vars: Record<string, string>) =>
  callApp(
    "/api/videos/upload/",
    { method: "POST", headers: auth, body: form({ title: "Same", file }) },
    recordingQueue().queue,
    vars,
  );

/** A tus upload of `bytes`: its creation, and when that passes, one PATCH with every byte. */
async function tus(auth: Auth, bytes: Uint8Array, type: string, vars: Record<string, string>) {
  const created = await callApp(
    "/api/uploads/",
    {
      method: "POST",
      headers: {
        ...auth,
        ...TUS,
        "upload-length": String(bytes.length),
        "upload-metadata": tusMetadata({ title: "Same", filetype: type, filename: "clip.mp4" }),
      },
    },
    undefined,
    vars,
  );
  if (created.status !== 201) return created;
  const path = new URL(created.headers.get("location") ?? "").pathname;
  return callApp(
    path,
    {
      method: "PATCH",
      headers: { ...auth, ...TUS, "upload-offset": "0", "content-type": "application/offset+octet-stream" },
      body: bytes,
    },
    recordingQueue().queue,
    vars,
  );
}

/** Both endpoints' answers to the same upload, each checked to keep nothing. */
async function bothRefuse(bytes: Uint8Array, type: string, vars: Record<string, string>, status: number) {
  const user = await signedInUser();
  await seedVideo({ ownerId: user.id, size: 15_000 });
  const answers: { code: string; message: string; details?: unknown }[] = [];
  for (const send of [
    () => classic(user.auth, new Blob([bytes], { type }), vars),
    () => tus(user.auth, bytes, type, vars),
  ]) {
    await expectNothingStored(async () => {
      const { code, message, details } = await expectRefusal(await send(), status);
      answers.push({ code, message, details });
    });
  }
  expect(answers[0]).toEqual(answers[1]);
  return answers[0];
}

describe("one upload policy for the classic form and tus", () => {
  it("refuses the same upload past the storage quota with the same 413", async () => {
    const error = await bothRefuse(mp4Like(10_000), "video/mp4", { USER_STORAGE_QUOTA_BYTES: "20000" }, 413);
    expect(error).toEqual({
      code: "payload_too_large",
      message: "This upload would exceed your storage quota of 20000 bytes",
      details: undefined,
    });
  });

  it("refuses the same upload above MAX_UPLOAD_SIZE with the same 413", async () => {
    const error = await bothRefuse(mp4Like(5000), "video/mp4", { MAX_UPLOAD_SIZE: "4000" }, 413);
    expect(error?.message).toBe("An upload is at most 4000 bytes");
  });

  it("refuses the same declared type and the same bytes that are not a video with the same 415", async () => {
    expect((await bothRefuse(mp4Like(5000), "image/png", {}, 415))?.message).toMatch(/image\/png is not an accepted/);
    const text = new TextEncoder().encode("plain text, not a video\n".repeat(100));
    expect((await bothRefuse(text, "video/mp4", {}, 415))?.message).toMatch(/not a video/);
  });

  it("counts what each endpoint stored against the same quota", async () => {
    const user = await signedInUser();
    await seedVideo({ ownerId: user.id, size: 15_000 });
    const vars = { USER_STORAGE_QUOTA_BYTES: "40000" };
    const bytes = mp4Like(10_000);
    expect((await classic(user.auth, new Blob([bytes], { type: "video/mp4" }), vars)).status).toBe(201);
    expect((await tus(user.auth, bytes, "video/mp4", vars)).status).toBe(204);
    // 15,000 + 10,000 + 10,000 are stored: 10,000 more fit neither way.
    const tusAgain = await tus(user.auth, bytes, "video/mp4", vars);
    const classicAgain = await classic(user.auth, new Blob([bytes], { type: "video/mp4" }), vars);
    const errors = [await expectRefusal(tusAgain, 413), await expectRefusal(classicAgain, 413)];
    expect(errors.map((e) => e.message)).toEqual([
      "This upload would exceed your storage quota of 40000 bytes",
      "This upload would exceed your storage quota of 40000 bytes",
    ]);
    const rows = await testDb().select().from(videos).where(eq(videos.ownerId, user.id)).all();
    expect(rows.map((v) => v.size).sort()).toEqual([10_000, 10_000, 15_000]);
  });
});
