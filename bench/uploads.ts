/**
 * Uploads through the Worker (tus: PATCH requests of 50 MiB, re-cut into R2 multipart parts, the
 * offset in D1) against a bare Worker that streams the same bytes into one R2 put, in the same
 * local runtime; then the runtime's peak memory for a 1 GiB and a 4 GiB upload through tus.
 */
import { join } from "node:path";
import { fmt, printTable, root, signUp, startWrangler } from "./lib.ts";
import { peakRss } from "./memory.ts";

const MiB = 1024 * 1024;
const CHUNK = 50 * MiB;

/** Deterministic bytes that start like an MP4; `at` is the offset of the first byte. */
function block(at: number, size: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(size);
  const pattern = new Uint32Array(out.buffer, 0, Math.floor(size / 4));
  for (let i = 0; i < pattern.length; i++) pattern[i] = (at / 4 + i) * 2654435761;
  if (at === 0) out.set([0, 0, 0, 0x20, 0x66, 0x74, 0x79, 0x70, 0x69, 0x73, 0x6f, 0x6d], 0);
  return out;
}

const b64 = (s: string) => Buffer.from(s).toString("base64");

async function tusUpload(url: string, key: string, size: number): Promise<number> {
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
  }
  return (performance.now() - started) / 1000;
}

async function barePut(url: string, size: number, name: string): Promise<number> {
  const started = performance.now();
  let at = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (at >= size) return controller.close();
      const n = Math.min(CHUNK, size - at);
      controller.enqueue(block(at, n));
      at += n;
    },
  });
  const res = await fetch(`${url}/r2/${name}`, {
    method: "PUT",
    body,
    headers: { "content-length": String(size) },
    duplex: "half",
  } as RequestInit);
  if (res.status !== 201) throw new Error(`bare PUT failed: ${res.status} ${await res.text()}`);
  return (performance.now() - started) / 1000;
}

export async function benchUploads(options: { throughputBytes: number; rounds: number; memorySizes: number[] }) {
  const quiet = [
    "--var",
    "LOG_LEVEL:error",
    "--var",
    "RATE_LIMIT_ENABLED:false",
    "--var",
    "TRANSCODER_URL:http://127.0.0.1:9",
  ];
  const app = await startWrangler(join(root, "wrangler.toml"), 18831, quiet, { migrate: true });
  const bare = await startWrangler(join(root, "bench", "bare", "wrangler.toml"), 18832);
  try {
    const key = await signUp(app.url, "uploader");
    const size = options.throughputBytes;
    const appTimes: number[] = [];
    const bareTimes: number[] = [];
    for (let i = 0; i < options.rounds; i++) {
      appTimes.push(await tusUpload(app.url, key, size));
      bareTimes.push(await barePut(bare.url, size, `round-${i}`));
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
    const appRate = size / MiB / median(appTimes);
    const bareRate = size / MiB / median(bareTimes);
    const rows: [string, string][] = [
      ["bytes per upload", `${fmt(size / MiB, 0)} MiB, ${options.rounds} rounds (median), tus PATCHes of 50 MiB`],
      ["through the Worker (tus)", `${fmt(appRate)} MiB/s`],
      ["bare Worker, one R2 put", `${fmt(bareRate)} MiB/s`],
      ["throughput ratio Worker/bare", fmt(appRate / bareRate, 2)],
    ];
    for (const bytes of options.memorySizes) {
      const {
        result: seconds,
        peak,
        before,
      } = await peakRss(app.process.pid as number, () => tusUpload(app.url, key, bytes));
      rows.push([
        `peak runtime RSS, ${fmt(bytes / 1024 ** 3, 0)} GiB upload`,
        `${fmt(peak / MiB)} MiB (idle ${fmt(before / MiB)} MiB; ${fmt(bytes / MiB / seconds)} MiB/s)`,
      ]);
    }
    printTable("Uploads: tus through the Worker vs a bare R2 put (same wrangler dev runtime)", rows);
  } finally {
    await app.stop();
    await bare.stop();
  }
}
