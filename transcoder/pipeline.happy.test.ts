/**
 * Real transcodes with real ffmpeg, against the fake internal job API (test/transcoder).
 * Fixtures: scripts/make-fixtures.sh, made by the project's global setup.
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OUTPUT_FILE_NAME } from "../shared/protocol.ts";
import {
  type CompletedEvent,
  cleanupJobRuns,
  decodeAll,
  type JobRun,
  joinRepresentation,
  keyframeTimes,
  runFixtureJob,
  streamInfo,
} from "../test/transcoder/harness.ts";
import { type MpdSummary, parseMpd } from "./manifest.ts";

afterAll(cleanupJobRuns);

const readMpd = async (run: JobRun) => {
  const text = await readFile(join(run.api.filesDir, "manifest.mpd"), "utf8");
  return { text, mpd: parseMpd(text) };
};
const videoReps = (mpd: MpdSummary) => mpd.representations.filter((r) => r.kind === "video");
const sarValue = (sar: string | null) => {
  const [a, b] = (sar ?? "1:1").split(":").map(Number);
  return (a as number) / (b as number);
};

describe("transcoding small-720p.mp4 (10 s, 1280x720, stereo)", () => {
  let run: JobRun;
  let completed: CompletedEvent;
  let mpdText: string;
  let mpd: MpdSummary;

  beforeAll(async () => {
    run = await runFixtureJob("small-720p.mp4", {
      // The first try of one segment is refused, as a busy Worker might.
      failPut: (name, attempt) => (name === "chunk-0-00001.m4s" && attempt === 1 ? 503 : null),
    });
    completed = run.completed as CompletedEvent;
    ({ text: mpdText, mpd } = await readMpd(run));
  });

  it("completes and reports the source's duration and size", () => {
    expect(run.failed).toBeUndefined();
    expect(run.status).toMatchObject({ state: "completed", progress: 100, error: null });
    expect(completed).toMatchObject({
      type: "completed",
      duration: 10,
      width: 1280,
      height: 720,
      poster: "poster.jpg",
    });
  });

  it("puts exactly the planned rungs, none above the source, in one video AdaptationSet", () => {
    expect(mpd.type).toBe("static");
    const video = mpd.adaptationSets.filter((s) => s.contentType === "video");
    const audio = mpd.adaptationSets.filter((s) => s.contentType === "audio");
    expect(video).toHaveLength(1);
    expect(audio).toHaveLength(1);
    expect(videoReps(mpd).map((r) => `${r.width}x${r.height}`)).toEqual(["1280x720", "854x480"]);
    expect(video[0]?.representationIds).toEqual(videoReps(mpd).map((r) => r.id));
    for (const rep of videoReps(mpd)) expect(rep.height).toBeLessThanOrEqual(720);
  });

  it("uses SegmentTemplate with a SegmentTimeline, identical on every rung", () => {
    expect(mpdText.match(/<SegmentTemplate\b/g)).toHaveLength(mpd.representations.length);
    expect(mpdText.match(/<SegmentTimeline>/g)).toHaveLength(mpd.representations.length);
    const [first, ...others] = videoReps(mpd);
    const seconds = (rep: typeof first) =>
      rep?.segments.map((s) => [s.start / rep.timescale, s.duration / rep.timescale]);
    expect(seconds(first)).toEqual([
      [0, 4],
      [4, 4],
      [8, 2],
    ]);
    for (const rep of others) expect(seconds(rep)).toEqual(seconds(first));
  });

  it("puts a keyframe exactly every 2 s on every rung", async () => {
    for (const rep of videoReps(mpd)) {
      const times = await keyframeTimes(await joinRepresentation(run.api.filesDir, rep.id));
      expect(
        times.map((t) => t.toFixed(3)),
        `rung ${rep.id}`,
      ).toEqual(["0.000", "2.000", "4.000", "6.000", "8.000"]);
    }
  });

  it("encodes H.264 High with square pixels (within rounding) and AAC-LC stereo 48 kHz", async () => {
    for (const rep of videoReps(mpd)) {
      expect(rep.codecs).toMatch(/^avc1\.64/);
      expect(Math.abs(sarValue(rep.sar) - 1)).toBeLessThan(0.0025);
      const [stream] = await streamInfo(await joinRepresentation(run.api.filesDir, rep.id));
      expect(stream).toMatchObject({ codec_name: "h264", profile: "High", pix_fmt: "yuv420p", width: rep.width });
    }
    const audio = mpd.representations.find((r) => r.kind === "audio");
    expect(audio?.codecs).toBe("mp4a.40.2");
    const [stream] = await streamInfo(await joinRepresentation(run.api.filesDir, audio?.id as string));
    expect(stream).toMatchObject({ codec_name: "aac", profile: "LC", sample_rate: "48000", channels: 2 });
  });

  it("announces each Representation's measured peak as its bandwidth, in the MPD and the event", () => {
    for (const rep of mpd.representations) {
      const rates = rep.segments.map(
        (s) =>
          ((run.api.files.get(`chunk-${rep.id}-${String(s.number).padStart(5, "0")}.m4s`) ?? 0) * 8) /
          (s.duration / rep.timescale),
      );
      expect(rep.bandwidth).toBe(Math.ceil(Math.max(...rates)));
      expect(completed.renditions.find((r) => r.id === rep.id)).toEqual({
        id: rep.id,
        kind: rep.kind,
        width: rep.width,
        height: rep.height,
        bandwidth: rep.bandwidth,
        codecs: rep.codecs,
      });
    }
    expect(completed.renditions).toHaveLength(mpd.representations.length);
  });

  it("writes a master.m3u8 listing every rung, and both manifests play to the end", async () => {
    const master = await readFile(join(run.api.filesDir, "master.m3u8"), "utf8");
    const variants = master.split("\n").filter((l) => l.startsWith("#EXT-X-STREAM-INF:"));
    expect(variants.map((v) => /RESOLUTION=(\d+x\d+)/.exec(v)?.[1])).toEqual(["1280x720", "854x480"]);
    const audioPeak = completed.renditions.find((r) => r.kind === "audio")?.bandwidth as number;
    for (const rep of videoReps(mpd)) {
      expect(master).toContain(`media_${rep.id}.m3u8`);
      expect(master).toContain(`BANDWIDTH=${rep.bandwidth + audioPeak},`);
    }
    await decodeAll(join(run.api.filesDir, "master.m3u8"));
    await decodeAll(join(run.api.filesDir, "manifest.mpd"));
  });

  it("uploads a JPEG poster at the top rung's size", async () => {
    const [poster] = await streamInfo(join(run.api.filesDir, "poster.jpg"));
    expect(poster).toMatchObject({ codec_name: "mjpeg", width: 1280, height: 720 });
  });

  it("uploads only accepted names and announces exactly the files it stored, manifest last but the downloads", () => {
    expect(run.api.rejectedNames).toEqual([]);
    expect(run.api.invalidEvents).toEqual([]);
    for (const name of completed.files) expect(name).toMatch(OUTPUT_FILE_NAME);
    expect([...completed.files].sort()).toEqual([...run.api.files.keys()].sort());
    const stored = [...run.api.files.keys()];
    expect(stored.slice(-4)).toEqual(["manifest.mpd", "download-720p.mp4", "download-480p.mp4", "download-audio.m4a"]);
    expect(completed.files).toEqual(
      expect.arrayContaining(["manifest.mpd", "master.m3u8", "media_0.m3u8", "media_1.m3u8", "media_2.m3u8"]),
    );
    expect(completed.files.filter((n) => n.startsWith("init-")).sort()).toEqual([
      "init-0.m4s",
      "init-1.m4s",
      "init-2.m4s",
    ]);
  });

  it("makes the storyboard in the same encode and announces its layout", async () => {
    // 10 s at one frame every 2 s: frames 0…4, in one sheet; thumbnails at 320 and 640 wide.
    const { thumbnails, ...sheets } = completed.storyboard ?? { thumbnails: { interval: 0, sizes: [] } };
    expect(sheets).toEqual({ interval: 2, tileWidth: 160, tileHeight: 90, columns: 10, rows: 10, parts: [0] });
    expect(thumbnails.interval).toBe(2);
    expect(thumbnails.sizes.map((t) => `${t.width}x${t.height}`)).toEqual(["320x180", "640x360"]);
    const [sheet] = await streamInfo(join(run.api.filesDir, "storyboard-0.jpg"));
    expect(sheet).toMatchObject({ codec_name: "mjpeg", width: 1600, height: 900 });
    const thumbs = completed.files.filter((n) => n.startsWith("thumb-")).sort();
    expect(thumbs).toEqual([0, 1, 2, 3, 4].flatMap((k) => [`thumb-320-${k}.jpg`, `thumb-640-${k}.jpg`]).sort());
    const [thumb] = await streamInfo(join(run.api.filesDir, "thumb-640-3.jpg"));
    expect(thumb).toMatchObject({ codec_name: "mjpeg", width: 640, height: 360 });
    const vtt = await readFile(join(run.api.filesDir, "storyboard.vtt"), "utf8");
    expect(vtt).toContain("00:00:08.000 --> 00:00:10.000\nstoryboard-0.jpg#xywh=640,0,160,90");
  });

  it("makes the downloads from the stored segments, read back: an MP4 per rung with the audio, and the M4A", async () => {
    // Each Representation's parts were read back from storage in order, init segment first: a
    // video rung's once, the audio's once for each download it goes into.
    const reads = run.api.fileReads;
    const inOrder = (id: string) => [`init-${id}.m4s`, ...[1, 2, 3].map((k) => `chunk-${id}-0000${k}.m4s`)];
    const readsOf = (id: string) => reads.filter((n) => n === `init-${id}.m4s` || n.startsWith(`chunk-${id}-`));
    expect(readsOf("0")).toEqual(inOrder("0"));
    expect(readsOf("1")).toEqual(inOrder("1"));
    expect(readsOf("2")).toEqual([...inOrder("2"), ...inOrder("2"), ...inOrder("2")]);
    const [video, audio] = await streamInfo(join(run.api.filesDir, "download-480p.mp4"));
    expect(video).toMatchObject({ codec_type: "video", codec_name: "h264", width: 854, height: 480 });
    expect(audio).toMatchObject({ codec_type: "audio", codec_name: "aac" });
    expect(Number(video?.duration)).toBeCloseTo(10, 1);
    const [alone, ...more] = await streamInfo(join(run.api.filesDir, "download-audio.m4a"));
    expect(alone).toMatchObject({ codec_type: "audio", codec_name: "aac" });
    expect(more).toEqual([]);
    // Stream copies: the 720p download is about the size of its rung's and the audio's segments.
    const bytesOf = (id: string) =>
      [...run.api.files]
        .filter(([n]) => n === `init-${id}.m4s` || n.startsWith(`chunk-${id}-`))
        .reduce((a, [, b]) => a + b, 0);
    const ratio = (run.api.files.get("download-720p.mp4") as number) / (bytesOf("0") + bytesOf("2"));
    expect(ratio).toBeGreaterThan(0.97);
    expect(ratio).toBeLessThan(1.03);
  });

  it("retries an upload the API refused for a moment", () => {
    expect(run.api.putAttempts.get("chunk-0-00001.m4s")).toBe(2);
    expect(run.api.files.has("chunk-0-00001.m4s")).toBe(true);
  });

  it("reads the source with Range requests, never as one download", () => {
    expect(run.api.sourceRequests.length).toBeGreaterThan(1);
    expect(run.api.sourceRequests.some((r) => r !== null && r !== "bytes=0-")).toBe(true);
  });

  it("reports rising progress while encoding, then completes", () => {
    const values = run.progress.map((p) => p.progress);
    expect(values.length).toBeGreaterThanOrEqual(3);
    expect(values).toEqual([...values].sort((a, b) => a - b));
    expect(run.progress.some((p) => p.stage === "encoding" && p.progress > 0 && p.progress < 100)).toBe(true);
    expect(run.api.events.at(-1)?.type).toBe("completed");
  });

  it("leaves no scratch files behind", async () => {
    expect(await readdir(run.workDir)).toEqual([]);
  });
});

describe("transcoding other kinds of source", () => {
  it("keeps a portrait video portrait", async () => {
    const run = await runFixtureJob("portrait-720x1280.mp4");
    expect(run.completed).toMatchObject({ width: 720, height: 1280 });
    const { mpd } = await readMpd(run);
    expect(videoReps(mpd).map((r) => `${r.width}x${r.height}`)).toEqual(["720x1280", "480x854"]);
    const [poster] = await streamInfo(join(run.api.filesDir, "poster.jpg"));
    expect(poster).toMatchObject({ width: 720, height: 1280 });
  });

  it("turns a phone video stored sideways upright, with no rotation left in the output", async () => {
    const run = await runFixtureJob("rotated-640x360.mp4");
    expect(run.completed).toMatchObject({ width: 360, height: 640 });
    const { mpd } = await readMpd(run);
    const [rep] = videoReps(mpd);
    expect(rep).toMatchObject({ width: 360, height: 640, sar: "1:1" });
    const [stream] = await streamInfo(await joinRepresentation(run.api.filesDir, rep?.id as string));
    expect(stream).toMatchObject({ width: 360, height: 640 });
    expect(JSON.stringify(stream)).not.toMatch(/rotation/i);
  });

  it("gives anamorphic video square pixels at its displayed shape", async () => {
    const run = await runFixtureJob("anamorphic-720x576.mp4");
    expect(run.completed).toMatchObject({ width: 1024, height: 576 });
    const { mpd } = await readMpd(run);
    const [rep] = videoReps(mpd);
    expect(rep).toMatchObject({ width: 854, height: 480 });
    expect(Math.abs(sarValue(rep?.sar ?? null) - 1)).toBeLessThan(0.0025);
  });

  it("gives a source without audio a video-only ladder, and a video-only download", async () => {
    const run = await runFixtureJob("silent-640x360.mp4");
    expect(run.completed?.files.filter((n) => n.startsWith("download-"))).toEqual(["download-360p.mp4"]);
    expect((await streamInfo(join(run.api.filesDir, "download-360p.mp4"))).map((s) => s.codec_type)).toEqual(["video"]);
    const { mpd } = await readMpd(run);
    expect(mpd.adaptationSets.map((s) => s.contentType)).toEqual(["video"]);
    expect(run.completed?.renditions.map((r) => [r.kind, r.width, r.height])).toEqual([["video", 640, 360]]);
    const master = await readFile(join(run.api.filesDir, "master.m3u8"), "utf8");
    expect(master).not.toContain("TYPE=AUDIO");
    await decodeAll(join(run.api.filesDir, "manifest.mpd"));
  });

  it("transcodes VP8/Vorbis WebM to H.264/AAC", async () => {
    const run = await runFixtureJob("vp8.webm");
    expect(run.status.state).toBe("completed");
    expect(run.completed?.renditions.map((r) => [r.kind, r.codecs.slice(0, 4)])).toEqual([
      ["video", "avc1"],
      ["audio", "mp4a"],
    ]);
    expect(run.completed?.duration).toBeCloseTo(6, 0);
  });

  it("caps the ladder at the job's maxHeight", async () => {
    const run = await runFixtureJob("small-720p.mp4", { job: { maxHeight: 480 } });
    expect(run.completed?.renditions.filter((r) => r.kind === "video").map((r) => `${r.width}x${r.height}`)).toEqual([
      "854x480",
    ]);
  });

  it("completes without a download the platform will not store, and says which", async () => {
    const run = await runFixtureJob("silent-640x360.mp4", {
      failPut: (name) => (name === "download-360p.mp4" ? 413 : null),
    });
    expect(run.status.state).toBe("completed");
    expect(run.completed?.files.some((n) => n.startsWith("download-"))).toBe(false);
    expect(run.logs.find((l) => l.msg === "download not made")?.fields).toMatchObject({ name: "download-360p.mp4" });
    expect(await readdir(run.workDir)).toEqual([]);
  });

  it("pauses ffmpeg while uploads are behind, and still completes", async () => {
    const run = await runFixtureJob("silent-640x360.mp4", { settings: { maxPendingBytes: 1 } });
    expect(run.logs.some((l) => l.msg.startsWith("uploads behind"))).toBe(true);
    expect(run.status.state).toBe("completed");
    expect(await readdir(run.workDir)).toEqual([]);
  });
});
