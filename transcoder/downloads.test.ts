import { createReadStream } from "node:fs";
import { mkdir, mkdtemp, open, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OUTPUT_FILE_NAME } from "../shared/protocol.ts";
import { type EncodedFixture, encodeFixture, muxDownloads } from "../test/transcoder/encode-fixture.ts";
import { fixture } from "../test/transcoder/fixtures.ts";
import { ffprobeJson } from "../test/transcoder/harness.ts";
import {
  AUDIO_DOWNLOAD_NAME,
  buildAudioDownloadCommand,
  buildDownloadCommand,
  DOWNLOAD_FILE_NAME,
  downloadFileName,
  makeDownloads,
  representationParts,
  type StoredFiles,
} from "./downloads.ts";
import { parseMpd } from "./manifest.ts";

describe("download commands", () => {
  it("orders a Representation's parts: init segment, then media segments by number", () => {
    const files = [
      "chunk-1-00002.m4s",
      "init-1.m4s",
      "chunk-1-00010.m4s",
      "chunk-0-00001.m4s",
      "chunk-1-00001.m4s",
      "init-0.m4s",
    ];
    expect(representationParts(files, "1")).toEqual([
      "init-1.m4s",
      "chunk-1-00001.m4s",
      "chunk-1-00002.m4s",
      "chunk-1-00010.m4s",
    ]);
    expect(() => representationParts(files, "2")).toThrow("no init segment");
    expect(() => representationParts(["init-3.m4s"], "3")).toThrow("no media segments");
  });

  it("copies video and audio into a faststart MP4 without re-encoding", () => {
    const args = buildDownloadCommand(
      { source: "http://w/internal/r/0", options: ["-headers", "Authorization: Bearer t\r\n"] },
      { source: "/s/audio.mp4" },
      "/s/download-720p.mp4",
    );
    expect(args.filter((a) => a === "-i")).toHaveLength(2);
    expect(args.slice(args.indexOf("-headers"), args.indexOf("-headers") + 4)).toEqual([
      "-headers",
      "Authorization: Bearer t\r\n",
      "-i",
      "http://w/internal/r/0",
    ]);
    expect(args).toContain("-copyts");
    expect(args.join(" ")).toContain("-map 0:v:0 -map 1:a:0 -c copy");
    expect(args.join(" ")).toContain("-movflags +faststart -f mp4 /s/download-720p.mp4");
    expect(args).not.toContain("libx264");
    expect(buildDownloadCommand({ source: "v.mp4" }, null, "o.mp4").join(" ")).not.toContain("1:a");
    expect(buildAudioDownloadCommand({ source: "a.mp4" }, "o.m4a").join(" ")).toContain("-map 0:a:0 -c copy");
  });

  it("names downloads so the Worker can find them, as names the job API accepts", () => {
    expect(downloadFileName(1080)).toBe("download-1080p.mp4");
    expect(DOWNLOAD_FILE_NAME.exec(downloadFileName(720))?.[1]).toBe("720");
    expect(DOWNLOAD_FILE_NAME.test(AUDIO_DOWNLOAD_NAME)).toBe(true);
    expect(OUTPUT_FILE_NAME.test(downloadFileName(2160))).toBe(true);
    expect(OUTPUT_FILE_NAME.test(AUDIO_DOWNLOAD_NAME)).toBe(true);
  });
});

/** The top-level boxes of an MP4, in file order. */
async function topLevelBoxes(path: string): Promise<string[]> {
  const file = await open(path, "r");
  try {
    const size = (await stat(path)).size;
    const boxes: string[] = [];
    const head = Buffer.alloc(16);
    for (let at = 0; at + 8 <= size; ) {
      await file.read(head, 0, 16, at);
      let boxSize = head.readUInt32BE(0);
      if (boxSize === 1) boxSize = Number(head.readBigUInt64BE(8));
      boxes.push(head.toString("latin1", 4, 8));
      if (boxSize < 8) break;
      at += boxSize;
    }
    return boxes;
  } finally {
    await file.close();
  }
}

interface Probe {
  format: { duration: string; format_name: string };
  streams: { codec_type: string; codec_name: string; start_time: string; duration: string; width?: number }[];
}

describe("downloads from the stored segments (real ffmpeg)", () => {
  let dir: string;
  let encoded: EncodedFixture;
  let downloads: Awaited<ReturnType<typeof muxDownloads>>;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "streambuddy-downloads-"));
    encoded = await encodeFixture(fixture("small-720p.mp4"), dir, { maxHeight: 720 });
    downloads = await muxDownloads(encoded);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("makes one MP4 per rung with its video and the audio, as long as the video, index first", async () => {
    expect([...downloads.videos.keys()]).toEqual([720, 480]);
    for (const [height, path] of downloads.videos) {
      const probe = (await ffprobeJson(path, ["-show_format", "-show_streams"])) as unknown as Probe;
      expect(probe.streams.map((s) => `${s.codec_type}:${s.codec_name}`)).toEqual(["video:h264", "audio:aac"]);
      expect(probe.streams[0]?.width).toBe(height === 720 ? 1280 : 854);
      expect(Number(probe.format.duration)).toBeCloseTo(encoded.source.duration ?? 0, 1);
      expect(Number(probe.streams[0]?.duration)).toBeCloseTo(10, 2);
      expect(Number(probe.streams[1]?.duration)).toBeCloseTo(10, 1);
      // Audio and video both start at 0: the AAC priming stays trimmed by the edit list.
      expect(Number(probe.streams[0]?.start_time)).toBe(0);
      expect(Number(probe.streams[1]?.start_time)).toBe(0);
      expect((await topLevelBoxes(path)).slice(0, 2)).toEqual(["ftyp", "moov"]);
      expect(await topLevelBoxes(path)).not.toContain("moof");
    }
  });

  it("copies the packets: the download is the size of its segments, not a new encode", async () => {
    const rungBytes = (id: string) =>
      Promise.all(representationParts(encoded.files, id).map((n) => stat(join(dir, n)).then((s) => s.size))).then((s) =>
        s.reduce((a, b) => a + b, 0),
      );
    const media = (await rungBytes("0")) + (await rungBytes("2"));
    const download = (await stat(downloads.videos.get(720) as string)).size;
    expect(download / media).toBeGreaterThan(0.97);
    expect(download / media).toBeLessThan(1.03);
  });

  it("makes the audio alone as M4A", async () => {
    const probe = (await ffprobeJson(downloads.audio as string, ["-show_format", "-show_streams"])) as unknown as Probe;
    expect(probe.streams.map((s) => s.codec_type)).toEqual(["audio"]);
    expect(Number(probe.format.duration)).toBeCloseTo(10, 1);
    expect((await topLevelBoxes(downloads.audio as string)).slice(0, 2)).toEqual(["ftyp", "moov"]);
  });

  it("makes video-only downloads for a source without audio", async () => {
    const silentDir = join(dir, "silent");
    await import("node:fs/promises").then((fs) => fs.mkdir(silentDir));
    const silent = await muxDownloads(
      await encodeFixture(fixture("silent-640x360.mp4"), silentDir, { maxHeight: 480 }),
    );
    expect(silent.audio).toBeNull();
    const probe = (await ffprobeJson(silent.videos.get(360) as string, [
      "-show_format",
      "-show_streams",
    ])) as unknown as Probe;
    expect(probe.streams.map((s) => s.codec_type)).toEqual(["video"]);
    expect(Number(probe.format.duration)).toBeCloseTo(6, 1);
  });
});

describe("makeDownloads: reading the stored segments back (real ffmpeg)", () => {
  let dir: string;
  let encoded: EncodedFixture;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "streambuddy-make-downloads-"));
    encoded = await encodeFixture(fixture("small-720p.mp4"), dir, { maxHeight: 720 });
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  /** Storage over the encode's directory; `broken` names a part that cannot be read. */
  const storage = (broken: string | null) => {
    const stored = new Map<string, Buffer>();
    const store: StoredFiles = {
      async openFile(name) {
        if (name === broken) {
          // The first bytes arrive, then the read fails: a connection lost midway.
          return new ReadableStream<Uint8Array>({
            start(c) {
              c.enqueue(new Uint8Array(100));
              c.error(new Error("connection reset"));
            },
          });
        }
        return Readable.toWeb(createReadStream(join(dir, name))) as ReadableStream<Uint8Array>;
      },
      async putFileFrom(name, path) {
        stored.set(name, await readFile(path));
      },
    };
    return { store, stored };
  };

  const run = async (broken: string | null) => {
    const renditions = parseMpd(await readFile(join(dir, "manifest.mpd"), "utf8")).representations.map((r) => ({
      id: r.id,
      kind: r.kind,
      width: r.width,
      height: r.height,
      bandwidth: 1,
      codecs: r.codecs,
    }));
    const { store, stored } = storage(broken);
    const scratch = join(dir, `scratch-${broken ?? "none"}`);
    await mkdir(scratch);
    const logs: { msg: string; fields?: Record<string, unknown> }[] = [];
    const sizes = new Map(
      await Promise.all(encoded.files.map(async (n) => [n, (await stat(join(dir, n))).size] as const)),
    );
    const made = await makeDownloads({
      files: sizes,
      renditions,
      dir: scratch,
      store,
      signal: new AbortController().signal,
      log: (msg, fields) => logs.push({ msg, fields }),
    });
    return { made, stored, logs, leftover: await readdir(scratch) };
  };

  it("makes every download, largest rung first, and leaves no scratch file", async () => {
    const { made, stored, leftover } = await run(null);
    expect(made).toEqual(["download-720p.mp4", "download-480p.mp4", "download-audio.m4a"]);
    expect([...stored.keys()]).toEqual(made);
    expect(leftover).toEqual([]);
  });

  it("leaves out a download whose segment cannot be read midway, instead of storing a shorter file", async () => {
    // Representation 1 is the 480p rung; its second segment fails after its first bytes.
    const { made, logs, leftover } = await run("chunk-1-00002.m4s");
    expect(made).toEqual(["download-720p.mp4", "download-audio.m4a"]);
    expect(logs.find((l) => l.msg === "download not made")?.fields).toMatchObject({ name: "download-480p.mp4" });
    expect(leftover).toEqual([]);
  });
});
