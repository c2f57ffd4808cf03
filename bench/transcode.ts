/**
 * Transcoder benchmarks, on the full fixture set (scripts/make-fixtures.sh, made here if missing):
 *
 * - `quality`: the ladder of mezzanine-1080p-20mbps.mp4 (and of a clean 20 s excerpt of
 *   bench-1080p-120s.mp4, for contrast) through runTranscodeJob; per rung its size and SSIM
 *   against the source (the rung scaled back up to the source size), next to the SSIM the rung's
 *   size alone allows (the source scaled down and up again, no encoding).
 * - `transcode`: wall and CPU time of runTranscodeJob against the fake job API (source over HTTP,
 *   uploads as it goes) vs. the same ffmpeg arguments reading and writing local files, on
 *   bench-1080p-120s.mp4, side by side; and the downloads step (stream copies of every rung and
 *   the audio) on the bare encode's files, as a share of the encode's time.
 *
 * TRANSCODER_X264_PRESET applies to both, as it does to the service.
 */
import { execFile, spawn } from "node:child_process";
import { createReadStream } from "node:fs";
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { promisify } from "node:util";
import { root } from "../test/support/platform.ts";
import { startFakeJobApi } from "../test/transcoder/fake-job-api.ts";
import { ensureFixtures, fixture } from "../test/transcoder/fixtures.ts";
import { makeDownloads, type StoredFiles } from "../transcoder/downloads.ts";
import { buildEncodeCommand, planEncode } from "../transcoder/encode.ts";
import { commandLine, probeMedia } from "../transcoder/ffmpeg.ts";
import { parseMpd } from "../transcoder/manifest.ts";
import { runTranscodeJob } from "../transcoder/pipeline.ts";
import { settingsFromEnv } from "../transcoder/settings.ts";
import { assessSource } from "../transcoder/source.ts";
import { selfAndChildrenCpuMs } from "./cpu.ts";
import { fmt, printTable } from "./lib.ts";

const run = promisify(execFile);

const mb = (bytes: number) => `${fmt(bytes / 1e6, 1)} MB`;
const mbps = (bitsPerSecond: number) => `${fmt(bitsPerSecond / 1e6, 2)} Mbit/s`;

/**
 * SSIM (All) against `reference` of `distorted` scaled to the reference's size; with `via`
 * ("W:H") instead, of the reference itself scaled down to that size and back (no encoding).
 */
async function ssim(reference: string, width: number, height: number, rung: { distorted: string } | { via: string }) {
  const back = `scale=${width}:${height}:flags=bicubic,setsar=1`;
  const [inputs, graph] =
    "distorted" in rung
      ? [["-i", rung.distorted, "-i", reference], `[0:v]${back}[a];[1:v]setsar=1[b];[a][b]ssim`]
      : [["-i", reference], `[0:v]split[x][y];[x]scale=${rung.via}:flags=bicubic,${back}[a];[y]setsar=1[b];[a][b]ssim`];
  const { stderr } = await run(
    "ffmpeg",
    ["-hide_banner", "-nostdin", ...inputs, "-lavfi", graph, "-an", "-f", "null", "-"],
    {
      maxBuffer: 64 << 20,
    },
  );
  const all = /SSIM .* All:([0-9.]+)/.exec(stderr)?.[1];
  if (!all) throw new Error(`no SSIM in ffmpeg output:\n${stderr.slice(-2000)}`);
  return Number(all);
}

async function qualityOf(label: string, source: string, targets: boolean) {
  const api = await startFakeJobApi({ source, keepFiles: true });
  const work = await mkdtemp(join(tmpdir(), "streambuddy-bench-"));
  try {
    const settings = settingsFromEnv(process.env);
    const started = performance.now();
    let state = "";
    await runTranscodeJob(api.job({ maxHeight: 2160 }), {
      signal: new AbortController().signal,
      onStatus: (u) => {
        state = u.state ?? state;
      },
      log: () => {},
      settings: { ...settings, workDir: work },
    });
    if (state !== "completed") throw new Error(`transcode of ${label} ended ${state}`);
    const seconds = (performance.now() - started) / 1000;
    const mpd = parseMpd(await readFile(join(api.filesDir, "manifest.mpd"), "utf8"));
    const probe = await probeMedia(source, []);
    const sourceVideo = probe.streams.find((s) => s.codec_type === "video");
    const width = Number(sourceVideo?.width);
    const height = Number(sourceVideo?.height);
    const duration = Number(probe.format.duration);
    const sourceBytes = (await stat(source)).size;

    const rows: [string, string][] = [
      [
        "source",
        `${width}x${height}, ${fmt(duration, 1)} s, ${mb(sourceBytes)} (${mbps((sourceBytes * 8) / duration)})`,
      ],
      ["preset, encode time", `${settings.x264Preset}, ${fmt(seconds, 1)} s`],
    ];
    const video = mpd.representations.filter((r) => r.kind === "video");
    const files = await readdir(api.filesDir);
    let topBytes = 0;
    for (const [i, rep] of video.entries()) {
      const names = [`init-${rep.id}.m4s`, ...files.filter((n) => n.startsWith(`chunk-${rep.id}-`)).sort()];
      const joined = join(work, `rung-${rep.id}.mp4`);
      await writeFile(joined, Buffer.concat(await Promise.all(names.map((n) => readFile(join(api.filesDir, n))))));
      const bytes = names.reduce((sum, n) => sum + (api.files.get(n) ?? 0), 0);
      if (i === 0) topBytes = bytes;
      const score = await ssim(source, width, height, { distorted: joined });
      const ceiling = await ssim(source, width, height, { via: `${rep.width}:${rep.height}` });
      const target = i === 0 ? 0.95 : 0.93;
      rows.push([
        `${rep.width}x${rep.height}`,
        `${mb(bytes)}, avg ${mbps((bytes * 8) / duration)}, peak ${mbps(rep.bandwidth)}; SSIM ${fmt(score, 4)}${targets ? ` (target ≥ ${target})` : ""}, scaling alone allows ${fmt(ceiling, 4)}`,
      ]);
    }
    rows.push([
      "top rung vs source",
      `${fmt((1 - topBytes / sourceBytes) * 100, 1)}% smaller${targets ? " (target ≥ 60%)" : ""}`,
    ]);
    printTable(`transcode quality: ${label}`, rows);
  } finally {
    await api.close();
    await rm(work, { recursive: true, force: true });
  }
}

export async function benchQuality() {
  ensureFixtures("full");
  await qualityOf(
    "mezzanine-1080p-20mbps.mp4 (20 s, 1080p30, 20 Mbit/s, film grain noise)",
    fixture("mezzanine-1080p-20mbps.mp4"),
    true,
  );
  const clean = join(await mkdtemp(join(tmpdir(), "streambuddy-bench-")), "clean-20s.mp4");
  try {
    await run("ffmpeg", ["-v", "error", "-y", "-i", fixture("bench-1080p-120s.mp4"), "-t", "20", "-c", "copy", clean]);
    await qualityOf("first 20 s of bench-1080p-120s.mp4 (1080p30 test pattern, no noise)", clean, false);
  } finally {
    await rm(join(clean, ".."), { recursive: true, force: true });
  }
}

interface Measured {
  wallMs: number;
  cpuMs: number;
  /** CPU of the job API stand-in (this process) meanwhile: the Worker's share, not counted above. */
  apiCpuMs?: number;
}

/** runTranscodeJob in its own process against the fake job API (which discards the files). */
async function measurePipeline(source: string): Promise<Measured> {
  const api = await startFakeJobApi({ source, keepFiles: false });
  const apiCpu0 = process.cpuUsage();
  try {
    const child = spawn(process.execPath, [join(root, "bench", "transcode-runner.ts"), JSON.stringify(api.job())], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (d) => {
      out += String(d);
    });
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    const result = JSON.parse(out.trim().split("\n").at(-1) ?? "{}") as Measured & { state: string };
    if (code !== 0 || result.state !== "completed")
      throw new Error(`pipeline run ended ${result.state} (exit ${code})`);
    const apiCpu = process.cpuUsage(apiCpu0);
    return { wallMs: result.wallMs, cpuMs: result.cpuMs, apiCpuMs: (apiCpu.user + apiCpu.system) / 1000 };
  } finally {
    await api.close();
  }
}

/**
 * The downloads step (an MP4 per rung and the M4A, by stream copy) on a finished encode's files
 * in `dir`, read as a runner reads them back from storage (here: from the local files) and
 * written and streamed out as it stores them (here: to nowhere).
 */
async function measureDownloads(dir: string): Promise<Measured & { bytes: number }> {
  const mpd = parseMpd(await readFile(join(dir, "manifest.mpd"), "utf8"));
  const renditions = mpd.representations.map((r) => ({
    id: r.id,
    kind: r.kind,
    width: r.width,
    height: r.height,
    bandwidth: 1,
    codecs: r.codecs,
  }));
  let bytes = 0;
  const store: StoredFiles = {
    openFile: async (name) => Readable.toWeb(createReadStream(join(dir, name))) as ReadableStream<Uint8Array>,
    putFileFrom: async (_name, path) => {
      for await (const chunk of createReadStream(path)) bytes += (chunk as Buffer).byteLength;
    },
  };
  const scratch = await mkdtemp(join(tmpdir(), "streambuddy-bench-downloads-"));
  try {
    const cpu0 = selfAndChildrenCpuMs();
    const t0 = performance.now();
    const made = await makeDownloads({
      files: new Map(
        await Promise.all((await readdir(dir)).map(async (n) => [n, (await stat(join(dir, n))).size] as const)),
      ),
      renditions,
      dir: scratch,
      store,
      signal: new AbortController().signal,
      log: (msg, fields) => console.error(msg, fields),
    });
    const wallMs = performance.now() - t0;
    if (made.length !== renditions.length) throw new Error(`made ${made.length} of ${renditions.length} downloads`);
    return { wallMs, cpuMs: selfAndChildrenCpuMs() - cpu0, bytes };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** The same ffmpeg arguments, reading the source file and writing to a local directory. */
async function measureBare(source: string, then?: (dir: string) => Promise<void>): Promise<Measured> {
  const settings = settingsFromEnv(process.env);
  const verdict = assessSource(await probeMedia(source, []), { maxDurationSeconds: Number.POSITIVE_INFINITY });
  if (!verdict.ok) throw new Error(verdict.message);
  const out = await mkdtemp(join(tmpdir(), "streambuddy-bench-bare-"));
  try {
    const spec = buildEncodeCommand(planEncode(verdict.source, 1080), {
      input: source,
      outDir: out,
      x264Preset: settings.x264Preset,
    });
    const cpu0 = selfAndChildrenCpuMs();
    const t0 = performance.now();
    const child = spawn("ffmpeg", commandLine(spec), { stdio: ["ignore", "ignore", "inherit"] });
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    const wallMs = performance.now() - t0;
    const cpuMs = selfAndChildrenCpuMs() - cpu0;
    if (code !== 0) throw new Error(`bare ffmpeg exited ${code}`);
    await then?.(out);
    return { wallMs, cpuMs };
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}

export async function benchTranscode(options: { rounds: number }) {
  ensureFixtures("full");
  const source = fixture("bench-1080p-120s.mp4");
  const pipeline: Measured[] = [];
  const bare: Measured[] = [];
  let downloads: (Measured & { bytes: number }) | undefined;
  // A B B A …: drift on a shared machine hits both sides alike.
  for (let i = 0; i < options.rounds; i++) {
    const bareRun = () =>
      measureBare(source, async (dir) => {
        downloads ??= await measureDownloads(dir);
      });
    if (i % 2 === 0) {
      pipeline.push(await measurePipeline(source));
      bare.push(await bareRun());
    } else {
      bare.push(await bareRun());
      pipeline.push(await measurePipeline(source));
    }
  }
  const median = (xs: Measured[], k: "wallMs" | "cpuMs") => {
    const sorted = xs.map((x) => x[k]).sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    return sorted.length % 2 === 1
      ? (sorted[mid] as number)
      : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  };
  const p = { wall: median(pipeline, "wallMs"), cpu: median(pipeline, "cpuMs") };
  const b = { wall: median(bare, "wallMs"), cpu: median(bare, "cpuMs") };
  const seconds = (ms: number) => `${fmt(ms / 1000, 1)} s`;
  printTable("transcode bench-1080p-120s.mp4: runTranscodeJob (HTTP source, uploads) vs bare ffmpeg (local files)", [
    ["preset, rounds", `${settingsFromEnv(process.env).x264Preset}, ${options.rounds} per side (median)`],
    [
      "pipeline wall, CPU",
      `${seconds(p.wall)}, ${seconds(p.cpu)}  (each: ${pipeline.map((m) => `${seconds(m.wallMs)}/${seconds(m.cpuMs)}`).join(", ")})`,
    ],
    [
      "bare     wall, CPU",
      `${seconds(b.wall)}, ${seconds(b.cpu)}  (each: ${bare.map((m) => `${seconds(m.wallMs)}/${seconds(m.cpuMs)}`).join(", ")})`,
    ],
    [
      "job API stand-in CPU",
      `${pipeline.map((m) => seconds(m.apiCpuMs ?? 0)).join(", ")} (the Worker's share; not counted above)`,
    ],
    ["wall ratio pipeline/bare", `${fmt(p.wall / b.wall, 3)} (target ≤ 1.10)`],
    ["CPU ratio pipeline/bare", `${fmt(p.cpu / b.cpu, 3)} (target ≤ 1.05)`],
    [
      "downloads (stream copy)",
      downloads
        ? `${seconds(downloads.wallMs)} wall, ${seconds(downloads.cpuMs)} CPU for ${mb(downloads.bytes)}: ${fmt(downloads.wallMs / b.wall, 3)} of the encode's wall time, ${fmt(downloads.cpuMs / b.cpu, 3)} of its CPU`
        : "not measured",
    ],
  ]);
  return { pipeline: p, bare: b };
}
