import { describe, expect, it } from "vitest";
import { callApp } from "../../testing/api";
import { s3Vars } from "../../testing/storage";

describe("GET /api/config/", () => {
  it("offers tus only on the R2 binding without the S3 API", async () => {
    const res = await callApp("/api/config/");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ max_upload_size: 10 * 1024 ** 3, direct_uploads: false, imports: true });
  });

  it("offers direct uploads when storage can presign, and says the upload limit", async () => {
    const res = await callApp("/api/config/", {}, undefined, { ...s3Vars(), MAX_UPLOAD_SIZE: "1000000" });
    expect(await res.json()).toEqual({ max_upload_size: 1_000_000, direct_uploads: true, imports: true });
  });
});
