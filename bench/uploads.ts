/**
 * Uploads through the Worker (tus: PATCH requests of 50 MiB, re-cut into R2 multipart parts, the
 * offset in D1) against a bare Worker that streams the same bytes into one R2 put, in the same
 * local runtime; then memory for each upload size, each in a fresh runtime: the Worker isolate's
 * heap and buffers (what counts against the 128 MB limit in production), and the whole runtime's
 * peak RSS beside a bare put's (the local simulators and the allocator's caches included). Last,
 * the classic endpoint with each form reader, side by side: the app's own streaming reader and
 * @remix-run/multipart-parser (bench/multipart-library/worker.ts), throughput and isolate peak.
 */
import { join } from "node:path";
import { type RunningWorker, root, signUp, startWrangler } from "../test/support/platform.ts";
import { type IsolateInspector, inspectIsolate } from "./isolate.ts";
import { fmt, median, printTable } from "./lib.ts";
import { peakRss } from "./memory.ts";

const MiB = 1024 * 1024;
const CHUNK = 50 * MiB;

/** Deterministic bytes that start like an MP4; `at` is the offset of the first byte. */
export function block(at: number, size: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(size);
  const pattern = new Uint32Array(out.buffer, 0, Math.floor(size / 4));
  for (let i = 0; i < pattern.length; i++) pattern[i] = (at / 4 + i) * 2654435761;
  if (at === 0) out.set([0, 0, 0, 0x20, 0x66, 0x74, 0x79, 0x70, 0x69, 0x73, 0x6f, 0x6d], 0);
  return out;
}

const b64 = (s: string) => Buffer.from(s).toString("base64");

/** Uploads `size` bytes through tus; `progress.bytes` follows the PATCHes as they are answered. */
export async function tusUpload(url: string, key: string, size: number, progress = { bytes: 0 }): Promise<number> {
  const auth = { authorization: `Token ${key}`, "tus-resumable": "1.0.0" };
  const created = await fetch(`${url}/api/uploads/`, {
    method: "POST",
    headers: {
      ...auth,
      "upload-length": String(size),
      "upload-metadata": `title ${b64("bench upload")},filetype ${b64("video/mp4")},filename ${b64("bench.mp4")}`,
    },
  });
  if (created.status !== 201) throw new Error(`create failed: ${created.status} ${await created.text()}`);
  const location = created.headers.get("location") ?? "";
  const started = performance.now();
  for (let at = 0; at < size; at += CHUNK) {
    const body = block(at, Math.min(CHUNK, size - at));
    const res = await fetch(location, {
      method: "PATCH",
      headers: { ...auth, "upload-offset": String(at), "content-type": "application/offset+octet-stream" },
      body,
    });
    if (res.status !== 204) throw new Error(`PATCH at ${at} failed: ${res.status} ${await res.text()}`);
    progress.bytes = at + body.length;
  }
  return (performance.now() - started) / 1000;
}

const FORM_BOUNDARY = "----streambuddy-bench-form";

/**
 * Uploads `size` file bytes through the classic endpoint: one multipart/form-data request with
 * the title first, streamed (the platform's 100 MB request limit applies only in production).
 */
async function classicUpload(url: string, key: string, size: number): Promise<number> {
  const head = Buffer.from(
    `--${FORM_BOUNDARY}\r\nContent-Disposition: form-data; name="title"\r\n\r\nbench upload\r\n` +
      `--${FORM_BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="bench.mp4"\r\n` +
      "Content-Type: video/mp4\r\n\r\n",
  );
  const end = Buffer.from(`\r\n--${FORM_BOUNDARY}--\r\n`);
  let at = -1;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (at < 0) {
        controller.enqueue(head);
        at = 0;
      } else if (at < size) {
        const n = Math.min(CHUNK, size - at);
        controller.enqueue(block(at, n));
        at += n;
      } else {
        controller.enqueue(end);
        controller.close();
      }
    },
  });
  const started = performance.now();
  const res = await fetch(`${url}/api/videos/upload/`, {
    method: "POST",
    headers: {
      authorization: `Token ${key}`,
      "content-type": `multipart/form-data; boundary=${FORM_BOUNDARY}`,
      "content-length": String(head.length + size + end.length),
    },
    body,
    duplex: "half",
  } as RequestInit);
  if (res.status !== 201) throw new Error(`classic upload failed: ${res.status} ${await res.text()}`);
  return (performance.now() - started) / 1000;
}

/** Streams `size` bytes to the bare Worker: `/r2/` (one put) or `/r2-multipart/` (10 MiB parts). */
async function barePut(
  url: string,
  size: number,
  name: string,
  route = "r2",
  progress = { bytes: 0 },
): Promise<number> {
  const started = performance.now();
  let at = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (at >= size) return controller.close();
      const n = Math.min(CHUNK, size - at);
      controller.enqueue(block(at, n));
      at += n;
      progress.bytes = at;
    },
  });
  const res = await fetch(`${url}/${route}/${name}`, {
    method: "PUT",
    body,
    headers: { "content-length": String(size) },
    duplex: "half",
  } as RequestInit);
  if (res.status !== 201) throw new Error(`bare PUT failed: ${res.status} ${await res.text()}`);
  return (performance.now() - started) / 1000;
}

export const quiet = ["--var", "LOG_LEVEL:error", "--var", "RATE_LIMIT_ENABLED:false"];

const mib = (bytes: number) => `${fmt(bytes / MiB)} MiB`;

export async function benchUploads(options: { throughputBytes: number; rounds: number; memorySizes: number[] }) {
  const rows: [string, string][] = [];
  const app = await startWrangler(join(root, "wrangler.toml"), 18831, quiet, { migrate: true });
  const bare = await startWrangler(join(root, "bench", "bare", "wrangler.toml"), 18832);
  try {
    const key = (await signUp(app.url, "uploader")).key;
    const size = options.throughputBytes;
    const appTimes: number[] = [];
    const bareTimes: number[] = [];
    for (let i = 0; i < options.rounds; i++) {
      appTimes.push(await tusUpload(app.url, key, size));
      bareTimes.push(await barePut(bare.url, size, `round-${i}`));
    }
    const appRate = size / MiB / median(appTimes);
    const bareRate = size / MiB / median(bareTimes);
    rows.push(
      ["bytes per upload", `${fmt(size / MiB, 0)} MiB, ${options.rounds} rounds (median), tus PATCHes of 50 MiB`],
      ["through the Worker (tus)", `${fmt(appRate)} MiB/s`],
      ["bare Worker, one R2 put", `${fmt(bareRate)} MiB/s`],
      ["throughput ratio Worker/bare", fmt(appRate / bareRate, 2)],
    );
  } finally {
    await app.stop();
    await bare.stop();
  }

  const isolateLive: number[] = [];
  for (const bytes of options.memorySizes) {
    const label = `${fmt(bytes / 1024 ** 3, bytes < 1024 ** 3 ? 2 : 0)} GiB`;
    const inspectorPort = 18933;
    const fresh = await startWrangler(
      join(root, "wrangler.toml"),
      18833,
      [...quiet, "--inspector-port", String(inspectorPort)],
      {
        migrate: true,
      },
    );
    let appPeak = { peak: 0, idle: 0 };
    try {
      const key = (await signUp(fresh.url, "memory")).key;
      await tusUpload(fresh.url, key, 60 * MiB); // the first upload loads code and opens the stores
      const isolate = await inspectIsolate(inspectorPort);
      try {
        const before = await isolate.live();
        const progress = { bytes: 0 };
        const {
          result,
          peak: rss,
          before: idle,
        } = await peakRss(fresh.process.pid as number, () =>
          isolate.peakDuring(() => tusUpload(fresh.url, key, bytes, progress), {
            windowOf: () => Math.floor(progress.bytes / 1024 ** 3),
          }),
        );
        const after = await isolate.live();
        appPeak = { peak: rss, idle };
        const windowPeaks = result.windows.map((w) => w.heap + w.buffers);
        isolateLive.push(after.heap + after.buffers);
        rows.push([
          `isolate, ${label} upload`,
          `peak ${mib(result.peak.heap)} heap + ${mib(result.peak.buffers)} buffers; live after GC ${mib(before.heap + before.buffers)} before, ${mib(after.heap + after.buffers)} after (${fmt(bytes / MiB / result.result)} MiB/s)`,
        ]);
        if (windowPeaks.length > 1) {
          rows.push([
            `isolate peak in each GiB, ${label}`,
            `${windowPeaks.map((b) => fmt(b / MiB, 0)).join(", ")} MiB`,
          ]);
        }
      } finally {
        isolate.close();
      }
    } finally {
      await fresh.stop();
    }
    const bareFresh = await startWrangler(join(root, "bench", "bare", "wrangler.toml"), 18834, [
      "--inspector-port",
      String(inspectorPort + 1),
    ]);
    try {
      await barePut(bareFresh.url, 60 * MiB, "warm");
      await barePut(bareFresh.url, 60 * MiB, "warm", "r2-multipart");
      const isolate = await inspectIsolate(inspectorPort + 1);
      try {
        const progress = { bytes: 0 };
        const { peak, windows } = await isolate.peakDuring(
          () => barePut(bareFresh.url, bytes, "parts", "r2-multipart", progress),
          { windowOf: () => Math.floor(progress.bytes / 1024 ** 3) },
        );
        rows.push([
          `bare multipart Worker isolate, ${label}`,
          `peak ${mib(peak.heap)} heap + ${mib(peak.buffers)} buffers` +
            (windows.length > 1
              ? `; in each GiB ${windows.map((w) => fmt((w.heap + w.buffers) / MiB, 0)).join(", ")} MiB`
              : ""),
        ]);
      } finally {
        isolate.close();
      }
      const { peak, before: idle } = await peakRss(bareFresh.process.pid as number, () =>
        barePut(bareFresh.url, bytes, "big"),
      );
      const grew = (m: { peak: number; idle: number }) => `${mib(m.idle)} idle → ${mib(m.peak)} peak`;
      rows.push([
        `runtime RSS, ${label}`,
        `Worker (tus) ${grew(appPeak)}; bare R2 put ${grew({ peak, idle })}; growth ratio ${fmt((appPeak.peak - appPeak.idle) / (peak - idle), 2)}`,
      ]);
    } finally {
      await bareFresh.stop();
    }
  }
  if (isolateLive.length > 1) {
    const first = isolateLive[0] ?? 1;
    const last = isolateLive[isolateLive.length - 1] ?? 0;
    rows.push(["isolate live after GC, largest/smallest upload", `${fmt(last / first, 2)} (flat is 1.00)`]);
  }
  printTable("Uploads: tus through the Worker vs a bare R2 put (same wrangler dev runtime)", rows);
  await benchClassicFormReaders({ bytes: Math.min(options.throughputBytes, 384 * MiB), rounds: options.rounds });
}

/**
 * The classic endpoint with each form reader, in two runtimes side by side (rounds alternate
 * between them): MiB/s of the whole request, and the isolate's peak heap + buffers during it.
 */
async function benchClassicFormReaders(options: { bytes: number; rounds: number }) {
  const readers = [
    { name: "app's streaming reader", port: 18835, script: [] as string[] },
    {
      name: "@remix-run/multipart-parser",
      port: 18836,
      script: [join(root, "bench", "multipart-library", "worker.ts")],
    },
  ];
  const runs: { app: RunningWorker; key: string; isolate: IsolateInspector; times: number[]; peak: number }[] = [];
  const started: RunningWorker[] = [];
  try {
    for (const reader of readers) {
      const inspectorPort = reader.port + 100;
      const app = await startWrangler(
        join(root, "wrangler.toml"),
        reader.port,
        [...quiet, "--inspector-port", String(inspectorPort), ...reader.script],
        { migrate: true },
      );
      started.push(app);
      const key = (await signUp(app.url, "classic")).key;
      await classicUpload(app.url, key, 20 * MiB); // loads code and opens the stores
      runs.push({ app, key, isolate: await inspectIsolate(inspectorPort), times: [], peak: 0 });
    }
    for (let round = 0; round < options.rounds; round++) {
      for (const run of runs) {
        const { result: seconds, peak } = await run.isolate.peakDuring(() =>
          classicUpload(run.app.url, run.key, options.bytes),
        );
        run.times.push(seconds);
        run.peak = Math.max(run.peak, peak.heap + peak.buffers);
      }
    }
    const rate = (i: number) => options.bytes / MiB / median(runs[i]?.times ?? []);
    const peak = (i: number) => runs[i]?.peak ?? 0;
    const rows: [string, string][] = [
      ["bytes per upload", `${fmt(options.bytes / MiB, 0)} MiB, ${options.rounds} rounds (median), one request each`],
      ...readers.map((reader, i): [string, string] => [
        reader.name,
        `${fmt(rate(i))} MiB/s; isolate peak ${mib(peak(i))} (heap + buffers)`,
      ]),
      ["throughput ratio app's reader/library", fmt(rate(0) / rate(1), 2)],
      ["isolate peak ratio library/app's reader", fmt(peak(1) / peak(0), 2)],
    ];
    printTable("Classic endpoint: the app's form reader vs @remix-run/multipart-parser (same runtime)", rows);
  } finally {
    for (const run of runs) run.isolate.close();
    for (const app of started) await app.stop();
  }
}
