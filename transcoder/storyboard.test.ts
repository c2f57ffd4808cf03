import { execFile } from "node:child_process";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeFixture } from "../test/transcoder/encode-fixture.ts";
import { fixture } from "../test/transcoder/fixtures.ts";
import { streamInfo } from "../test/transcoder/harness.ts";
import { planEncode } from "./encode.ts";
import { commandLine, type FfmpegCommandSpec, startFfmpeg } from "./ffmpeg.ts";
import type { SourceInfo } from "./source.ts";
import {
  makeSheets,
  planStoryboard,
  type StoryboardPlan,
  sheetCommand,
  storyboardInterval,
  storyboardVtt,
  thumbnailFrameAt,
  withStoryboard,
} from "./storyboard.ts";

const run = promisify(execFile);

const source = (width: number, height: number, duration: number): SourceInfo => ({
  formatName: "mov,mp4,m4a,3gp,3g2,mj2",
  duration,
  video: {
    index: 0,
    codec: "h264",
    width,
    height,
    sampleAspectRatio: 1,
    rotation: 0,
    frameRate: { num: 30, den: 1 },
    interlaced: false,
  },
  audio: { index: 1, codec: "aac", channels: 2 },
});

describe("planStoryboard", () => {
  it("takes a frame every 2 s for short videos, longer intervals as videos grow, at most 1000 frames", () => {
    expect([10, 600, 601, 1800, 1801, 5000, 5001, 7200].map((d) => storyboardInterval(d))).toEqual([
      2, 2, 4, 4, 5, 5, 6, 8,
    ]);
    for (const d of [1, 599, 3599, 36000, 86400]) {
      expect(Math.ceil(d / storyboardInterval(d))).toBeLessThanOrEqual(1000);
    }
  });

  it("sizes tiles 160 wide and thumbnails at the stored widths, keeping the aspect and never upscaling", () => {
    const wide = planStoryboard(planEncode(source(1920, 1080, 60), 1080), 60);
    expect(wide).toMatchObject({ interval: 2, tileWidth: 160, tileHeight: 90, columns: 10, rows: 10, firstFrame: 0 });
    expect(wide.thumbnails).toEqual({
      interval: 2,
      sizes: [
        { width: 320, height: 180 },
        { width: 640, height: 360 },
      ],
    });
    const portrait = planStoryboard(planEncode(source(720, 1280, 60), 1080), 60);
    expect(portrait).toMatchObject({ tileWidth: 160, tileHeight: 284 });
    expect(portrait.thumbnails.sizes).toEqual([
      { width: 320, height: 568 },
      { width: 640, height: 1138 },
    ]);
    const tiny = planStoryboard(planEncode(source(256, 144, 60), 1080), 60);
    expect(tiny.thumbnails.sizes).toEqual([{ width: 256, height: 144 }]);
  });

  it("keeps thumbnails to 600 frames per width", () => {
    expect(planStoryboard(planEncode(source(1920, 1080, 7200), 1080), 7200).thumbnails.interval).toBe(12);
  });

  it("starts a chunk's frames at the first grid time in its range", () => {
    const plan = planEncode(source(1920, 1080, 600), 1080);
    expect(planStoryboard(plan, 600, { start: 0, end: 6 })).toMatchObject({ firstFrame: 0, startTime: 0 });
    expect(planStoryboard(plan, 600, { start: 6, end: 12 })).toMatchObject({ firstFrame: 3, startTime: 6 });
    expect(planStoryboard(plan, 600, { start: 203, end: 207 })).toMatchObject({ firstFrame: 102, startTime: 204 });
  });
});

describe("withStoryboard", () => {
  const plan = planEncode(source(1920, 1080, 60), 1080);
  const base: FfmpegCommandSpec = {
    global: [],
    input: { source: "in.mp4", options: [] },
    filterGraph: "[0:0]fps=30/1,split=4[s0][s1][s2][sp];[s0]null[v0]",
    outputs: [{ target: "/out/manifest.mpd", options: [] }],
  };

  it("branches two more outputs off the encode's split: sheets and thumbnails", () => {
    const spec = withStoryboard(base, planStoryboard(plan, 60), "/out");
    expect(spec.filterGraph).toContain("split=6[s0][s1][s2][sp][sbin][thin]");
    // Frames only: tiling in the encode would hold back ffmpeg's progress until a sheet is full.
    expect(spec.filterGraph).toContain(
      "[sbin]fps=fps=1/2:start_time=0:round=up,scale=160:90:flags=bicubic,setsar=1[sb]",
    );
    expect(spec.filterGraph).not.toContain("tile=");
    expect(spec.filterGraph).toContain("[thin]fps=fps=1/2:start_time=0:round=up,split=2[tw0][tw1]");
    expect(spec.outputs.map((o) => o.target)).toEqual([
      "/out/manifest.mpd",
      "/out/sbframe-%d.bmp",
      "/out/thumb-320-%d.jpg",
      "/out/thumb-640-%d.jpg",
    ]);
    expect(commandLine(spec).filter((a) => a === "-i")).toHaveLength(1);
  });

  it("numbers a chunk's sheets and thumbnails globally", () => {
    const sb = planStoryboard(planEncode(source(1920, 1080, 600), 1080), 600, { start: 204, end: 208 });
    const spec = withStoryboard(base, sb, "/out");
    expect(spec.outputs[1]).toMatchObject({ target: "/out/sbframe-%d.bmp" });
    expect(spec.outputs[1]?.options).toEqual(expect.arrayContaining(["-start_number", "102"]));
    expect(spec.outputs[2]?.options.slice(-2)).toEqual(["-start_number", "102"]);
    const tiling = sheetCommand(sb, "/out").join(" ");
    expect(tiling).toContain("-start_number 102 -i /out/sbframe-%d.bmp");
    expect(tiling).toContain("tile=10x10:init_padding=2");
    expect(tiling).toContain("-start_number 1 /out/storyboard-%d-102.jpg");
  });
});

describe("storyboardVtt", () => {
  const sb = { interval: 2, tileWidth: 160, tileHeight: 90, columns: 10, rows: 10 };

  it("has a cue per frame up to the duration, with the tile of each frame", () => {
    const vtt = storyboardVtt(sb, 5.5);
    expect(vtt).toBe(
      [
        "WEBVTT",
        "",
        "00:00:00.000 --> 00:00:02.000",
        "storyboard-0.jpg#xywh=0,0,160,90",
        "",
        "00:00:02.000 --> 00:00:04.000",
        "storyboard-0.jpg#xywh=160,0,160,90",
        "",
        "00:00:04.000 --> 00:00:05.500",
        "storyboard-0.jpg#xywh=320,0,160,90",
        "",
      ].join("\n"),
    );
  });

  it("moves to the next row and the next sheet, and to each chunk's own file", () => {
    const cues = storyboardVtt(sb, 250, [0, 102])
      .split("\n")
      .filter((l) => l.includes("#xywh"));
    expect(cues).toHaveLength(125);
    expect(cues[10]).toBe("storyboard-0.jpg#xywh=0,90,160,90");
    expect(cues[99]).toBe("storyboard-0.jpg#xywh=1440,810,160,90");
    expect(cues[100]).toBe("storyboard-1.jpg#xywh=0,0,160,90");
    expect(cues[101]).toBe("storyboard-1.jpg#xywh=160,0,160,90");
    expect(cues[102]).toBe("storyboard-1-102.jpg#xywh=320,0,160,90");
    expect(
      storyboardVtt(sb, 250)
        .split("\n")
        .filter((l) => l.includes("-102.jpg")),
    ).toEqual([]);
  });
});

describe("thumbnailFrameAt", () => {
  const sb: Pick<StoryboardPlan, "thumbnails"> = {
    thumbnails: {
      interval: 2,
      sizes: [
        { width: 320, height: 180 },
        { width: 640, height: 360 },
      ],
    },
  };

  it("picks the nearest stored frame and the nearest stored width", () => {
    expect(thumbnailFrameAt(sb, 0, 10)).toEqual({ name: "thumb-320-0.jpg", frame: 0, width: 320, height: 180 });
    expect(thumbnailFrameAt(sb, 2.9, 10)?.name).toBe("thumb-320-1.jpg");
    expect(thumbnailFrameAt(sb, 3.1, 10, 600)?.name).toBe("thumb-640-2.jpg");
    expect(thumbnailFrameAt(sb, 10, 10, 100)?.name).toBe("thumb-320-4.jpg");
    expect(thumbnailFrameAt(sb, 5, 10, 480)?.width).toBe(320);
  });

  it("has nothing before the start or past the end", () => {
    expect(thumbnailFrameAt(sb, -1, 10)).toBeNull();
    expect(thumbnailFrameAt(sb, 10.01, 10)).toBeNull();
    expect(thumbnailFrameAt(sb, Number.NaN, 10)).toBeNull();
  });
});

/** SSIM of two images of the same size (1 is identical). */
async function ssim(a: string, b: string, filterA = "null", filterB = "null"): Promise<number> {
  const { stderr } = await run("ffmpeg", [
    ...["-hide_banner", "-i", a, "-i", b],
    ...["-lavfi", `[0:v]${filterA},format=yuv420p[a];[1:v]${filterB},format=yuv420p[b];[a][b]ssim`, "-f", "null", "-"],
  ]);
  const m = /All:([\d.]+)/.exec(stderr);
  if (!m) throw new Error(`no SSIM in ${stderr}`);
  return Number(m[1]);
}

/** The source frame at `time`, scaled and compressed as the thumbnails are. */
async function sourceFrame(input: string, time: number, width: number, height: number, out: string) {
  await run("ffmpeg", [
    ...["-v", "error", "-y", "-ss", String(time), "-i", input, "-frames:v", "1"],
    ...["-vf", `scale=${width}:${height}:flags=bicubic`, "-q:v", "3", out],
  ]);
  return out;
}

const size = async (path: string) => {
  const [stream] = await streamInfo(path);
  return { width: stream?.width, height: stream?.height };
};

describe("storyboard and thumbnails from the encode's decode (real ffmpeg)", () => {
  const input = fixture("small-720p.mp4");
  let dir: string;
  let files: string[];
  let sb: StoryboardPlan;
  let duration: number;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "streambuddy-storyboard-"));
    const encoded = await encodeFixture(input, dir, {
      maxHeight: 480,
      extend: (spec, plan, src) => {
        sb = planStoryboard(plan, src.duration ?? 0);
        return withStoryboard(spec, sb, dir);
      },
    });
    duration = encoded.source.duration ?? 0;
    await makeSheets(sb, dir);
    files = await readdir(dir);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("writes one sheet of 10 × 10 tiles and a thumbnail every 2 s at each stored width, beside the ladder", async () => {
    expect(duration).toBeCloseTo(10, 1);
    expect(files).toContain("manifest.mpd");
    expect(files.filter((f) => f.startsWith("storyboard-"))).toEqual(["storyboard-0.jpg"]);
    expect(await size(join(dir, "storyboard-0.jpg"))).toEqual({ width: 1600, height: 900 });
    const thumbs = files.filter((f) => f.startsWith("thumb-")).sort();
    expect(thumbs).toEqual([0, 1, 2, 3, 4].flatMap((k) => [`thumb-320-${k}.jpg`, `thumb-640-${k}.jpg`]).sort());
    expect(await size(join(dir, "thumb-320-3.jpg"))).toEqual({ width: 320, height: 180 });
    expect(await size(join(dir, "thumb-640-0.jpg"))).toEqual({ width: 640, height: 360 });
  });

  it("thumbnail k is the source's frame at k × 2 s", async () => {
    for (const k of [0, 2, 4]) {
      const ref = await sourceFrame(input, k * 2, 320, 180, join(dir, `ref-${k}.jpg`));
      expect(await ssim(join(dir, `thumb-320-${k}.jpg`), ref)).toBeGreaterThan(0.99);
    }
    // The next frame (1/30 s later) is already another picture, so the comparison tells them apart.
    const next = await sourceFrame(input, 4 + 1 / 30 + 0.001, 320, 180, join(dir, "ref-next.jpg"));
    expect(await ssim(join(dir, "thumb-320-2.jpg"), next)).toBeLessThan(0.97);
  });

  it("the index covers the duration and each cue's xywh frames its own picture in the sheet", async () => {
    const vtt = storyboardVtt(sb, duration);
    const cues = [...vtt.matchAll(/^(\S+) --> (\S+)\n(storyboard-\d+\.jpg)#xywh=(\d+),(\d+),(\d+),(\d+)$/gm)];
    expect(cues).toHaveLength(5);
    expect(cues[0]?.[1]).toBe("00:00:00.000");
    expect(cues.at(-1)?.[2]).toBe("00:00:10.000");
    for (const cue of cues) {
      const [, start, , file, x, y, w, h] = cue as unknown as string[];
      const k = Number(start?.slice(6, 8)) / 2;
      const crop = `crop=${w}:${h}:${x}:${y}`;
      const same = await ssim(join(dir, file as string), join(dir, `thumb-320-${k}.jpg`), crop, "scale=160:90");
      expect(same).toBeGreaterThan(0.85);
    }
    await writeFile(join(dir, "storyboard.vtt"), vtt);
  });

  it("two chunks make exactly their own frames, numbered as the whole encode numbers them", async () => {
    const chunkDir = join(dir, "chunks");
    await run("mkdir", ["-p", chunkDir]);
    const plan = planEncode(source(1280, 720, duration), 480);
    for (const range of [
      { start: 0, end: 4 },
      { start: 4, end: duration },
    ]) {
      const part = planStoryboard(plan, duration, range);
      const spec = withStoryboard(
        {
          global: ["-hide_banner", "-loglevel", "error"],
          input: { source: input, options: ["-ss", String(range.start), "-to", String(range.end), "-copyts"] },
          filterGraph: "[0:0]split=1[rest];[rest]nullsink",
          outputs: [],
        },
        part,
        chunkDir,
      );
      await startFfmpeg(spec).done;
      await makeSheets(part, chunkDir);
    }
    const names = (await readdir(chunkDir)).sort();
    expect(names).toEqual(
      [
        "storyboard-0.jpg",
        "storyboard-0-2.jpg",
        ...[0, 1, 2, 3, 4].flatMap((k) => [`thumb-320-${k}.jpg`, `thumb-640-${k}.jpg`]),
      ].sort(),
    );
    for (const k of [1, 3]) {
      expect(await ssim(join(chunkDir, `thumb-320-${k}.jpg`), join(dir, `thumb-320-${k}.jpg`))).toBeGreaterThan(0.99);
    }
    // The second chunk's sheet has frame 3 in cell 3, where the index of a chunked encode points.
    const cue = /(storyboard-0-2\.jpg)#xywh=(\d+),(\d+),(\d+),(\d+)/.exec(
      storyboardVtt(sb, duration, [0, 2]).split("\n")[12] ?? "",
    );
    expect(cue?.slice(1)).toEqual(["storyboard-0-2.jpg", "480", "0", "160", "90"]);
    const crop = "crop=160:90:480:0";
    expect(
      await ssim(join(chunkDir, "storyboard-0-2.jpg"), join(dir, "thumb-320-3.jpg"), crop, "scale=160:90"),
    ).toBeGreaterThan(0.85);
  });
});
