import { describe, expect, it } from "vitest";
import { videoStateFor } from "./video-state";

describe("a video's state", () => {
  it("follows its first job while it has no version: queued, processing with the job's progress, ready", () => {
    expect(videoStateFor(null, { status: "queued" })).toMatchObject({ status: "queued", progress: 0 });
    expect(videoStateFor(null, { status: "running" })).toMatchObject({ status: "processing", progress: "job" });
    expect(videoStateFor(null, { status: "completed" })).toEqual({
      status: "ready",
      progress: 100,
      errorCode: null,
      errorMessage: null,
    });
  });

  it("fails with the job's reason", () => {
    expect(
      videoStateFor(null, { status: "failed", errorCode: "too_long", errorMessage: "7 h is over 6 h" }),
    ).toMatchObject({ status: "failed", errorCode: "too_long", errorMessage: "7 h is over 6 h" });
  });

  it("keeps playing the version it has while a new one is made, and when the new one fails", () => {
    for (const status of ["queued", "running", "failed", "cancelled"] as const) {
      expect(videoStateFor("v1", { status, errorCode: "not_video" })).toMatchObject({
        status: "ready",
        errorCode: null,
      });
    }
  });

  it("waits for the job that replaced a cancelled one", () => {
    expect(videoStateFor(null, { status: "cancelled" })).toMatchObject({ status: "queued" });
  });
});
