/**
 * The probe phase on its own: real ffprobe reading sources over HTTP from the stand-in for the
 * internal job API, nothing encoded.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeJobApi, startFakeJobApi } from "../test/transcoder/fake-job-api.ts";
import { fixture } from "../test/transcoder/fixtures.ts";
import { JobFailure } from "./failure.ts";
import { createJobApiClient } from "./job-api.ts";
import { type InspectOptions, inspectSource } from "./probe.ts";

let dir: string;
const apis: FakeJobApi[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "streambuddy-test-probe-"));
});
afterAll(async () => {
  await Promise.all(apis.map((api) => api.close()));
  await rm(dir, { recursive: true, force: true });
});

/** A file of these bytes in the test's directory. */
async function file(name: string, bytes: Uint8Array): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, bytes);
  return path;
}

/** `count` packets of `packet` bytes, 0xff but for the sync byte at `syncAt`: a container with nothing in it. */
const hollowTransportStream = (packet: number, syncAt: number, count = 40) => {
  const out = new Uint8Array(packet * count).fill(0xff);
  for (let n = 0; n < count; n++) out[n * packet + syncAt] = 0x47;
  return out;
};

/** Serves `path` as a job's source and inspects it as the pipeline does. */
async function inspect(
  path: string,
  options: { token?: string } & Partial<Pick<InspectOptions, "maxDurationSeconds" | "signal">> = {},
) {
  const api = await startFakeJobApi({ source: path });
  apis.push(api);
  const client = createJobApiClient(api.job(options.token ? { token: options.token } : {}), {
    retry: { attempts: 1, baseDelayMs: 1 },
  });
  const result = inspectSource(client.source, {
    maxDurationSeconds: options.maxDurationSeconds ?? 3600,
    readHead: (length, signal) => client.readSourceHead(length, signal),
    signal: options.signal ?? new AbortController().signal,
  });
  return { api, result };
}

/** The JobFailure an inspection ends with. */
async function refusal(path: string, options: Parameters<typeof inspect>[1] = {}): Promise<JobFailure> {
  const error = await (await inspect(path, options)).result.then(
    () => null,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(JobFailure);
  return error as JobFailure;
}

describe("inspectSource: what gets encoded", () => {
  it("describes an MP4 read over HTTP: container, duration, video and audio streams", async () => {
    const { api, result } = await inspect(fixture("small-720p.mp4"));
    expect(await result).toMatchObject({
      formatName: expect.stringContaining("mp4"),
      duration: 10,
      video: { index: 0, codec: "h264", width: 1280, height: 720, frameRate: { num: 30, den: 1 } },
      audio: { codec: "aac", channels: 2 },
    });
    expect(api.sourceRequests.length).toBeGreaterThan(0);
    expect(api.files.size).toBe(0);
  });

  it("describes a WebM with VP8 and Vorbis", async () => {
    const { result } = await inspect(fixture("vp8.webm"));
    expect(await result).toMatchObject({
      formatName: expect.stringContaining("webm"),
      video: { codec: "vp8", width: 854, height: 480 },
      audio: { codec: "vorbis" },
    });
  });

  it("makes a source without audio a video-only source", async () => {
    const { result } = await inspect(fixture("silent-640x360.mp4"));
    expect(await result).toMatchObject({ video: { width: 640, height: 360 }, audio: null });
  });
});

describe("inspectSource: what is refused, and why", () => {
  it("calls a text file named .mp4 not_video", async () => {
    const failure = await refusal(fixture("not-a-video.mp4"));
    expect(failure).toMatchObject({ code: "not_video" });
    expect(failure.message).toBe("The file is not a video: no known audio or video format was found in it.");
  });

  it("calls an empty file not_video, saying it is empty", async () => {
    const failure = await refusal(await file("empty.mp4", new Uint8Array(0)));
    expect(failure).toMatchObject({ code: "not_video", message: "The file is empty." });
  });

  it("calls an MP4 cut short unsupported, saying it is incomplete", async () => {
    const failure = await refusal(fixture("truncated.mp4"));
    expect(failure.code).toBe("unsupported");
    expect(failure.message).toMatch(/incomplete or damaged: its index \(moov atom\) is missing/);
  });

  it("names the container of a damaged file from its first bytes (the shared sniffer)", async () => {
    const flv = new Uint8Array(3000).fill(0xff);
    flv.set([0x46, 0x4c, 0x56, 1, 5, 0, 0, 0, 9]);
    expect(await refusal(await file("damaged.flv", flv))).toMatchObject({
      code: "unsupported",
      message:
        "The file looks like FLV but could not be read; it may be damaged or use a variant that is not supported.",
    });
    expect(await refusal(await file("damaged.m2ts", hollowTransportStream(192, 4)))).toMatchObject({
      code: "unsupported",
      message: expect.stringMatching(/^The file looks like MPEG-TS but could not be read/),
    });
  });

  it("refuses a video longer than allowed as too_long, saying both lengths", async () => {
    const failure = await refusal(fixture("small-720p.mp4"), { maxDurationSeconds: 5 });
    expect(failure).toMatchObject({
      code: "too_long",
      message: "The video is 10 s long; the longest video accepted is 5 s.",
    });
  });

  it("fails with transcode_failed when the platform does not serve the source", async () => {
    const failure = await refusal(fixture("small-720p.mp4"), { token: "a-token-the-api-does-not-know" });
    expect(failure.code).toBe("transcode_failed");
    expect(failure.message).toMatch(/^The source could not be read from the platform \(GET source: HTTP 401\)/);
  });

  it("stops when aborted, with the abort's reason rather than a verdict", async () => {
    const controller = new AbortController();
    const reason = new Error("shutting down");
    controller.abort(reason);
    const { result } = await inspect(fixture("small-720p.mp4"), { signal: controller.signal });
    await expect(result).rejects.toBe(reason);
  });
});
