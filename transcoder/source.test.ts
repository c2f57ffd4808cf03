import { describe, expect, it } from "vitest";
import {
  assessSource,
  explainProbeFailure,
  formatDuration,
  type ProbedMedia,
  type ProbedStream,
  parseRational,
} from "./source.ts";

const video = (over: Partial<ProbedStream> = {}): ProbedStream => ({
  index: 0,
  codec_type: "video",
  codec_name: "h264",
  width: 1920,
  height: 1080,
  sample_aspect_ratio: "1:1",
  avg_frame_rate: "30/1",
  r_frame_rate: "30/1",
  duration: 10,
  ...over,
});
const audio = (over: Partial<ProbedStream> = {}): ProbedStream => ({
  index: 1,
  codec_type: "audio",
  codec_name: "aac",
  channels: 2,
  duration: 10,
  ...over,
});
const media = (streams: ProbedStream[], format: ProbedMedia["format"] = {}): ProbedMedia => ({
  streams,
  format: { format_name: "mov,mp4,m4a,3gp,3g2,mj2", duration: 10, ...format },
});
const limits = { maxDurationSeconds: 3600 };

describe("assessSource: what gets transcoded", () => {
  it("accepts a video with audio and picks both streams", () => {
    const verdict = assessSource(media([video(), audio()]), limits);
    expect(verdict).toMatchObject({
      ok: true,
      source: {
        duration: 10,
        video: {
          index: 0,
          width: 1920,
          height: 1080,
          sampleAspectRatio: 1,
          rotation: 0,
          frameRate: { num: 30, den: 1 },
        },
        audio: { index: 1, codec: "aac", channels: 2 },
      },
    });
  });

  it("reads the sample aspect ratio and phone rotation (as a number or ffprobe's string)", () => {
    const verdict = assessSource(media([video({ sample_aspect_ratio: "64:45", rotation: "-90" })]), limits);
    expect(verdict.ok && verdict.source.video).toMatchObject({ sampleAspectRatio: 64 / 45, rotation: -90 });
    const tagged = assessSource(media([video({ tags: { rotate: "90" } })]), limits);
    expect(tagged.ok && tagged.source.video.rotation).toBe(90);
  });

  it("notices interlaced video", () => {
    const verdict = assessSource(media([video({ field_order: "tt" })]), limits);
    expect(verdict.ok && verdict.source.video.interlaced).toBe(true);
    const progressive = assessSource(media([video({ field_order: "progressive" })]), limits);
    expect(progressive.ok && progressive.source.video.interlaced).toBe(false);
  });

  it("makes a video-only source a video-only job", () => {
    const verdict = assessSource(media([video()]), limits);
    expect(verdict.ok && verdict.source.audio).toBeNull();
  });

  it("ignores cover art and refuses audio-only files as not_video", () => {
    const verdict = assessSource(
      media([audio({ index: 0 }), video({ index: 1, disposition: { attached_pic: 1 } })]),
      limits,
    );
    expect(verdict).toMatchObject({ ok: false, code: "not_video" });
    expect(!verdict.ok && verdict.message).toMatch(/only audio/);
  });

  it("refuses still images as not_video", () => {
    const verdict = assessSource(
      media([video({ codec_name: "mjpeg" })], { format_name: "jpeg_pipe", duration: "N/A" }),
      limits,
    );
    expect(verdict).toMatchObject({ ok: false, code: "not_video" });
  });

  it("refuses a video longer than the job allows as too_long, saying both lengths", () => {
    const verdict = assessSource(media([video()], { duration: 7300 }), limits);
    expect(verdict).toMatchObject({ ok: false, code: "too_long" });
    expect(!verdict.ok && verdict.message).toBe(
      "The video is 2 h 01 min long; the longest video accepted is 1 h 00 min.",
    );
  });

  it("falls back to stream durations, and to unknown when nothing says", () => {
    const fromStreams = assessSource(media([video({ duration: 12.5 })], { duration: "N/A" }), limits);
    expect(fromStreams.ok && fromStreams.source.duration).toBe(12.5);
    const unknown = assessSource(media([video({ duration: "N/A" })], { duration: "N/A" }), limits);
    expect(unknown.ok && unknown.source.duration).toBeNull();
  });

  it("refuses a video track without a usable codec or picture size as unsupported", () => {
    expect(assessSource(media([video({ codec_name: undefined })]), limits)).toMatchObject({
      ok: false,
      code: "unsupported",
    });
    expect(assessSource(media([video({ width: 0, height: 0 })]), limits)).toMatchObject({
      ok: false,
      code: "unsupported",
    });
  });
});

describe("probe failures: not a video, or a damaged one", () => {
  it("calls an MP4 without its index unsupported (damaged), and text not_video", () => {
    expect(explainProbeFailure("[mov,mp4] moov atom not found\nInvalid data found", "MP4/QuickTime")).toMatchObject({
      code: "unsupported",
    });
    expect(explainProbeFailure("Invalid data found when processing input", "Matroska/WebM")).toMatchObject({
      code: "unsupported",
    });
    expect(explainProbeFailure("Invalid data found when processing input", null)).toMatchObject({ code: "not_video" });
  });
});

describe("helpers", () => {
  it("formats durations for people", () => {
    expect(formatDuration(45)).toBe("45 s");
    expect(formatDuration(725)).toBe("12 min 05 s");
    expect(formatDuration(21600)).toBe("6 h 00 min");
  });

  it("parses ffprobe rationals", () => {
    expect(parseRational("30000/1001")).toEqual({ num: 30000, den: 1001 });
    expect(parseRational("16:9")).toEqual({ num: 16, den: 9 });
    expect(parseRational("0/0")).toBeNull();
    expect(parseRational("N/A")).toBeNull();
  });
});
