/**
 * Chunked encoding next to the one-pass encode, for the transcoder's integration tests: runs
 * both on a source, and reads back what came out (ffprobe, per-frame SSIM), and serves an output
 * directory to a browser.
 */
import { execFile } from "node:child_process";
import { createReadStream, existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, normalize } from "node:path";
import { promisify } from "node:util";
import { contentTypeOf } from "../../shared/protocol.ts";
import { type ChunkingOptions, type ChunkPlan, planChunks } from "../../transcoder/chunked/plan.ts";
import { startAudioEncode, startChunkEncode, type UnitOutput } from "../../transcoder/chunked/run.ts";
import {
  buildEncodeCommand,
  type EncodePlan,
  httpInputOptions,
  MEDIA_SEGMENT_NAME,
  planEncode,
} from "../../transcoder/encode.ts";
import { probeMedia, startFfmpeg } from "../../transcoder/ffmpeg.ts";
import { assessSource, type SourceInfo } from "../../transcoder/source.ts";
import { type FakeJobApi, startFakeJobApi } from "./fake-job-api.ts";
import { TEST_PRESET } from "./harness.ts";

const run = promisify(execFile);

export interface ChunkedRun {
  source: SourceInfo;
  plan: EncodePlan;
  chunks: ChunkPlan;
  /** ffmpeg's dash muxer output of the one-pass encode (buildEncodeCommand). */
  onePassDir: string;
  /** Every unit's files, under their names in the whole video. */
  chunkedDir: string;
  /** In chunk order. */
  chunkOutputs: UnitOutput[];
  audioOutput: UnitOutput | null;
  api: FakeJobApi;
  cleanup(): Promise<void>;
}

/**
 * Encodes `sourcePath` both ways: in one pass from the file, and as chunks plus an audio unit
 * that read it over HTTP from the fake job API (Range requests), two units at a time as two
 * runners would.
 */
export async function encodeBothWays(
  sourcePath: string,
  options: { maxHeight: number; chunking: ChunkingOptions },
): Promise<ChunkedRun> {
  const root = await mkdtemp(join(tmpdir(), "streambuddy-chunked-"));
  const onePassDir = join(root, "one-pass");
  const chunkedDir = join(root, "chunked");
  const workDir = join(root, "work");
  await Promise.all([mkdir(onePassDir), mkdir(chunkedDir), mkdir(workDir)]);
  const api = await startFakeJobApi({ source: sourcePath, keepFiles: false });
  const job = api.job();
  const input = `${job.apiBase}/source`;
  const inputOptions = httpInputOptions(job.token);

  const verdict = assessSource(await probeMedia(input, inputOptions), { maxDurationSeconds: 3600 });
  if (!verdict.ok) throw new Error(verdict.message);
  const plan = planEncode(verdict.source, options.maxHeight);
  const chunks = planChunks({ duration: verdict.source.duration, frameRate: plan.frameRate }, options.chunking);

  const onePass = startFfmpeg(
    buildEncodeCommand(plan, { input: sourcePath, outDir: onePassDir, x264Preset: TEST_PRESET }),
  ).done;
  const units: (() => Promise<UnitOutput>)[] = [
    ...chunks.chunks.map(
      (chunk) => () =>
        startChunkEncode(plan, chunks, chunk, {
          input,
          inputOptions,
          workDir,
          outDir: chunkedDir,
          x264Preset: TEST_PRESET,
        }).done,
    ),
    ...(plan.audioStreamIndex !== null
      ? [() => startAudioEncode(plan, { input, inputOptions, workDir, outDir: chunkedDir }).done]
      : []),
  ];
  const outputs: UnitOutput[] = [];
  let next = 0;
  const runner = async () => {
    while (next < units.length) {
      const i = next++;
      outputs[i] = await (units[i] as () => Promise<UnitOutput>)();
    }
  };
  await Promise.all([onePass, runner(), runner()]);

  return {
    source: verdict.source,
    plan,
    chunks,
    onePassDir,
    chunkedDir,
    chunkOutputs: outputs.slice(0, chunks.chunks.length),
    audioOutput: plan.audioStreamIndex !== null ? (outputs.at(-1) ?? null) : null,
    api,
    async cleanup() {
      await api.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}

export interface ProbedPacket {
  pts: number;
  dts: number;
  duration: number;
  key: boolean;
  hash?: string;
}

/** Every packet of a file's only stream, in decode order, with its timing (and data hash). */
export async function packetsOf(path: string, withHash = false): Promise<ProbedPacket[]> {
  const { stdout } = await run(
    "ffprobe",
    [
      "-v",
      "error",
      ...(withHash ? ["-show_data_hash", "md5"] : []),
      "-show_entries",
      `packet=pts,dts,duration,flags${withHash ? ",data_hash" : ""}`,
      "-of",
      "json",
      path,
    ],
    { maxBuffer: 256 << 20 },
  );
  const packets = (JSON.parse(stdout) as { packets: Record<string, string | number>[] }).packets;
  return packets.map((p) => ({
    pts: Number(p.pts),
    dts: Number(p.dts),
    duration: Number(p.duration),
    key: String(p.flags).startsWith("K"),
    ...(withHash ? { hash: String(p.data_hash) } : {}),
  }));
}

/** Presentation time (pts) of every decoded frame, in presentation order. */
export async function framePtsOf(path: string): Promise<number[]> {
  const { stdout } = await run("ffprobe", ["-v", "error", "-show_entries", "frame=pts", "-of", "json", path], {
    maxBuffer: 256 << 20,
  });
  return (JSON.parse(stdout) as { frames: { pts: number }[] }).frames.map((f) => Number(f.pts));
}

/** SSIM (All) of every frame of `distorted` against `reference` (same size and frame timing), in order. */
export async function ssimPerFrame(distorted: string, reference: string): Promise<number[]> {
  const dir = await mkdtemp(join(tmpdir(), "streambuddy-ssim-"));
  const stats = join(dir, "ssim.log");
  try {
    await run("ffmpeg", [
      ...["-hide_banner", "-nostdin", "-loglevel", "error", "-i", distorted, "-i", reference],
      ...["-lavfi", `[0:v]setsar=1[a];[1:v]setsar=1[b];[a][b]ssim=stats_file=${stats}`, "-f", "null", "-"],
    ]);
    const text = await readFile(stats, "utf8");
    return [...text.matchAll(/All:([0-9.]+)/g)].map((m) => Number(m[1]));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface StaticServer {
  url: string;
  /** Requests that found their file missing and waited for it, by name. */
  held: string[];
  close(): Promise<void>;
}

const root = join(import.meta.dirname, "..", "..");

/** The web app's vendored dash.js (scripts/vendor-assets.mjs), made if missing. */
export async function ensureVendoredDashJs(): Promise<string> {
  const path = join(root, "public", "vendor", "dashjs", "dash.mediaplayer.min.js");
  if (!existsSync(path)) await run(process.execPath, [join(root, "scripts", "vendor-assets.mjs")]);
  return path;
}

/**
 * A small file server: `/vendor/...` from public/vendor, everything else from `dir`, with each
 * output's content type. With `holdMissingMs`, a request for a media segment that is not there
 * yet waits up to that long for it to appear (as the Worker does for a video still processing),
 * then gets 503.
 */
export async function serveDirectory(
  dir: string,
  options: { pages?: Record<string, string>; holdMissingMs?: number } = {},
): Promise<StaticServer> {
  const held: string[] = [];
  const fileOf = (path: string) => {
    const base = path.startsWith("/vendor/") ? join(root, "public") : dir;
    const file = normalize(join(base, path));
    return file.startsWith(base) ? file : null;
  };
  const waitFor = async (file: string, path: string) => {
    const deadline = Date.now() + (options.holdMissingMs ?? 0);
    let first = true;
    for (;;) {
      const found = await stat(file).catch(() => null);
      if (found || Date.now() >= deadline || !MEDIA_SEGMENT_NAME.test(path.slice(1))) return found;
      if (first) held.push(path.slice(1));
      first = false;
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://local").pathname);
    const page = options.pages?.[path];
    if (page !== undefined) {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      return res.end(page);
    }
    const file = fileOf(path);
    if (!file) {
      res.writeHead(404);
      return res.end();
    }
    void waitFor(file, path).then((found) => {
      if (!found) {
        res.writeHead(options.holdMissingMs ? 503 : 404, { "retry-after": "1" });
        return res.end();
      }
      const type = path.endsWith(".js") ? "text/javascript" : contentTypeOf(file);
      res.writeHead(200, { "content-type": type, "content-length": String(found.size) });
      createReadStream(file).pipe(res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    held,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
