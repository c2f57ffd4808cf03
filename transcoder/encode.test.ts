import { describe, expect, it } from "vitest";
import { buildEncodeCommand, httpInputOptions, planEncode } from "./encode.ts";
import { commandLine } from "./ffmpeg.ts";
import type { SourceInfo } from "./source.ts";

const source = (over: Partial<SourceInfo["video"]> = {}, audio = true, duration: number | null = 60): SourceInfo => ({
  formatName: "mov,mp4,m4a,3gp,3g2,mj2",
  duration,
  video: {
    index: 0,
    codec: "h264",
    width: 1920,
    height: 1080,
    sampleAspectRatio: 1,
    rotation: 0,
    frameRate: { num: 30, den: 1 },
    interlaced: false,
    ...over,
  },
  audio: audio ? { index: 1, codec: "aac", channels: 2 } : null,
});

/** Every value following a flag in an argument list. */
const argsAfter = (args: string[], flag: string) => args.filter((_, i) => args[i - 1] === flag);

/** The value following a flag in an argument list. */
const argAfter = (args: string[], flag: string) => {
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
};

describe("planEncode", () => {
  it("takes the poster from 10% into the video at the top rung's size, at most 1280 wide", () => {
    const plan = planEncode(source(), 1080);
    expect(plan.rungs.map((r) => r.height)).toEqual([1080, 720, 480]);
    expect(plan.poster).toEqual({ at: 6, width: 1280, height: 720 });
    expect(planEncode(source({ width: 720, height: 1280 }), 1080).poster).toEqual({ at: 6, width: 720, height: 1280 });
  });

  it("keeps the source frame rate up to 60 fps and halves 120 fps", () => {
    expect(planEncode(source(), 1080)).toMatchObject({ frameRate: { num: 30, den: 1 }, gop: 60 });
    expect(planEncode(source({ frameRate: { num: 120, den: 1 } }), 1080)).toMatchObject({
      frameRate: { num: 120, den: 2 },
      gop: 120,
    });
    expect(planEncode(source({ frameRate: null }), 1080)).toMatchObject({ frameRate: null, gop: 60 });
  });
});

describe("buildEncodeCommand: one ffmpeg process for the whole ladder", () => {
  const plan = planEncode(source(), 1080);
  const spec = buildEncodeCommand(plan, {
    input: "http://api/internal/jobs/j/source",
    inputOptions: httpInputOptions("secret-token"),
    outDir: "/scratch",
    x264Preset: "veryfast",
  });
  const args = commandLine(spec);
  const dash = spec.outputs[0]?.options ?? [];

  it("decodes once and splits into every rung plus the poster", () => {
    expect(args.filter((a) => a === "-i")).toHaveLength(1);
    expect(spec.filterGraph).toContain("[0:0]fps=30/1,split=4[s0][s1][s2][sp]");
    expect(spec.filterGraph).toContain("[s0]scale=1920:1080:flags=bicubic,format=yuv420p[v0]");
    expect(spec.filterGraph).toContain("[s2]scale=854:480:flags=bicubic,format=yuv420p[v2]");
    expect(spec.filterGraph).toContain("select='max(eq(n,0),gte(t,6)*lt(prev_selected_t,6))'");
    expect(spec.outputs.map((o) => o.target)).toEqual(["/scratch/manifest.mpd", "/scratch/poster.jpg"]);
    // The first frame, then the one 10% in over it, with no frames repeated in between.
    const poster = spec.outputs[1]?.options ?? [];
    expect(argAfter(poster, "-frames:v")).toBe("2");
    expect(argAfter(poster, "-fps_mode")).toBe("passthrough");
    expect(argAfter(poster, "-update")).toBe("1");
  });

  it("reads the source over HTTP with the job's Bearer token", () => {
    expect(argAfter(args, "-headers")).toBe("Authorization: Bearer secret-token\r\n");
    expect(args.indexOf("-headers")).toBeLessThan(args.indexOf("-i"));
  });

  it("encodes H.264 High with capped CRF per rung and a keyframe every 2 s on every rung", () => {
    expect(argAfter(dash, "-c:v")).toBe("libx264");
    expect(argAfter(dash, "-profile:v")).toBe("high");
    expect(argAfter(dash, "-pix_fmt")).toBe("yuv420p");
    expect(argAfter(dash, "-preset")).toBe("veryfast");
    plan.rungs.forEach((rung, i) => {
      expect(argAfter(dash, `-crf:v:${i}`)).toBe(String(rung.crf));
      expect(argAfter(dash, `-maxrate:v:${i}`)).toBe(String(rung.maxrate));
      expect(argAfter(dash, `-bufsize:v:${i}`)).toBe(String(rung.bufsize));
    });
    expect(argAfter(dash, "-force_key_frames")).toBe("expr:gte(t,n_forced*2)");
    expect(argAfter(dash, "-sc_threshold")).toBe("0");
    expect(argAfter(dash, "-g")).toBe("60");
    expect(argAfter(dash, "-keyint_min")).toBe("60");
  });

  it("encodes AAC-LC stereo 48 kHz and packages DASH + HLS in 4 s segments", () => {
    expect(argAfter(dash, "-c:a")).toBe("aac");
    expect(argAfter(dash, "-profile:a")).toBe("aac_low");
    expect(argAfter(dash, "-ac")).toBe("2");
    expect(argAfter(dash, "-ar")).toBe("48000");
    expect(argsAfter(dash, "-map")).toEqual(["[v0]", "[v1]", "[v2]", "0:1"]);
    expect(argAfter(dash, "-f")).toBe("dash");
    expect(argAfter(dash, "-seg_duration")).toBe("4");
    expect(argAfter(dash, "-use_template")).toBe("1");
    expect(argAfter(dash, "-use_timeline")).toBe("1");
    expect(argAfter(dash, "-adaptation_sets")).toBe("id=0,streams=v id=1,streams=a");
    expect(argAfter(dash, "-init_seg_name")).toBe("init-$RepresentationID$.m4s");
    expect(argAfter(dash, "-media_seg_name")).toBe("chunk-$RepresentationID$-$Number%05d$.m4s");
    expect(argAfter(dash, "-hls_playlist")).toBe("1");
    expect(argAfter(dash, "-map_metadata")).toBe("-1");
  });

  it("deinterlaces interlaced sources before splitting", () => {
    const interlaced = buildEncodeCommand(
      planEncode(source({ interlaced: true, frameRate: { num: 25, den: 1 } }), 1080),
      {
        input: "/in.ts",
        outDir: "/scratch",
        x264Preset: "veryfast",
      },
    );
    expect(interlaced.filterGraph).toMatch(/^\[0:0\]bwdif=mode=send_frame,fps=25\/1,split=/);
    expect(spec.filterGraph).not.toContain("bwdif");
  });

  it("makes a video-only ladder for a source without audio", () => {
    const silent = buildEncodeCommand(planEncode(source({}, false), 1080), {
      input: "/in.mp4",
      outDir: "/scratch",
      x264Preset: "veryfast",
    });
    const options = silent.outputs[0]?.options ?? [];
    expect(options).not.toContain("-c:a");
    expect(argsAfter(options, "-map")).toEqual(["[v0]", "[v1]", "[v2]"]);
    expect(argAfter(options, "-adaptation_sets")).toBe("id=0,streams=v");
  });
});
