/**
 * Direct uploads on the S3 backend, against the test S3 server (s3rver) in a process of its own:
 *
 * - A whole direct upload through the Worker (creation, every part PUT straight to the bucket at
 *   its presigned URL, completion) against the same bytes in the same parts as a plain S3
 *   multipart upload with no Worker (create, PUT parts to URLs presigned the same way, complete):
 *   the ratio is what the platform adds.
 * - The workerd runtime's CPU per GiB, from /proc, for a tus upload into the S3 backend and for a
 *   direct upload: what each way in costs the Worker.
 */
import { join } from "node:path";
import { root, signUp, startWrangler } from "../test/support/platform.ts";
import { workerdCpuMs } from "./cpu.ts";
import { fmt, median, printTable } from "./lib.ts";
import { type S3Process, startS3Process } from "./s3-process.ts";
import { block, quiet, tusUpload } from "./uploads.ts";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
/** Parts in flight at once, on both sides. */
const PART_CONCURRENCY = 4;

interface Part {
  number: number;
  etag: string;
}

/** Bytes `at`…`at + size` of the upload as a stream of 1 MiB blocks, made as they are read. */
function partBody(at: number, size: number): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent >= size) return controller.close();
      const n = Math.min(MiB, size - sent);
      controller.enqueue(block(at + sent, n));
      sent += n;
    },
  });
}

/** PUTs part n of `size` bytes to `urls[n - 1]`, `PART_CONCURRENCY` at a time; their ETags in order. */
async function putParts(urls: string[], size: number, partSize: number): Promise<Part[]> {
  const parts: Part[] = [];
  let next = 0;
  const sender = async () => {
    for (let i = next++; i < urls.length; i = next++) {
      const at = i * partSize;
      const length = Math.min(partSize, size - at);
      const res = await fetch(
        urls[i] as string,
        {
          method: "PUT",
          body: partBody(at, length),
          headers: { "content-length": String(length) },
          duplex: "half",
        } as RequestInit,
      );
      await res.arrayBuffer();
      if (!res.ok) throw new Error(`part ${i + 1}: ${res.status}`);
      parts[i] = { number: i + 1, etag: res.headers.get("etag") ?? "" };
    }
  };
  await Promise.all(Array.from({ length: PART_CONCURRENCY }, sender));
  return parts;
}

/** Seconds of an upload's steps: creation (with its part URLs), the parts, the completion. */
interface Steps {
  start: number;
  parts: number;
  complete: number;
}

/** Seconds since the last call (or since it was made). */
function stopwatch() {
  let last = performance.now();
  return () => {
    const now = performance.now();
    const seconds = (now - last) / 1000;
    last = now;
    return seconds;
  };
}

interface DirectUpload {
  part_size: number;
  part_count: number;
  parts: { number: number; url: string }[];
  parts_url: string;
  complete_url: string;
}

/** A direct upload of `size` bytes, from its creation to the completion's answer. */
async function directUpload(url: string, key: string, size: number) {
  const auth = { authorization: `Token ${key}`, "content-type": "application/json" };
  const lap = stopwatch();
  const created = await fetch(`${url}/api/videos/direct-upload/`, {
    method: "POST",
    headers: auth,
    body: JSON.stringify({ title: "bench upload", filename: "bench.mp4", type: "video/mp4", size }),
  });
  if (created.status !== 201) throw new Error(`direct upload: ${created.status} ${await created.text()}`);
  const upload = (await created.json()) as DirectUpload;
  const urls = upload.parts.map((p) => p.url);
  while (urls.length < upload.part_count) {
    const more = await fetch(`${upload.parts_url}?from=${urls.length + 1}&count=1000`, { headers: auth });
    if (!more.ok) throw new Error(`part URLs: ${more.status} ${await more.text()}`);
    urls.push(...((await more.json()) as DirectUpload).parts.map((p) => p.url));
  }
  const start = lap();
  const parts = await putParts(urls, size, upload.part_size);
  const partsSeconds = lap();
  const completed = await fetch(upload.complete_url, {
    method: "POST",
    headers: auth,
    body: JSON.stringify({ parts }),
  });
  if (completed.status !== 200) throw new Error(`completion: ${completed.status} ${await completed.text()}`);
  await completed.arrayBuffer();
  const steps: Steps = { start, parts: partsSeconds, complete: lap() };
  return { steps, partSize: upload.part_size, partCount: upload.part_count };
}

/** The same upload as a plain S3 multipart upload, signed as the S3 backend signs (aws4fetch). */
async function bareMultipartUpload(
  { endpoint, bucket, client }: S3Process,
  key: string,
  size: number,
  partSize: number,
) {
  const object = `${endpoint}/${bucket}/${key}`;
  const lap = stopwatch();
  const created = await client.fetch(`${object}?uploads=`, { method: "POST" });
  const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(await created.text())?.[1];
  if (!created.ok || !uploadId) throw new Error(`CreateMultipartUpload: ${created.status}`);
  const query = (n: number) => `partNumber=${n}&uploadId=${encodeURIComponent(uploadId)}&X-Amz-Expires=3600`;
  const urls = await Promise.all(
    Array.from({ length: Math.ceil(size / partSize) }, async (_, i) => {
      const signed = await client.sign(`${object}?${query(i + 1)}`, { method: "PUT", aws: { signQuery: true } });
      return signed.url;
    }),
  );
  const start = lap();
  const parts = await putParts(urls, size, partSize);
  const partsSeconds = lap();
  const xml = `<CompleteMultipartUpload>${parts
    .map((p) => `<Part><PartNumber>${p.number}</PartNumber><ETag>${p.etag}</ETag></Part>`)
    .join("")}</CompleteMultipartUpload>`;
  const completed = await client.fetch(`${object}?uploadId=${encodeURIComponent(uploadId)}`, {
    method: "POST",
    body: xml,
  });
  const answer = await completed.text();
  if (!completed.ok || answer.includes("<Error>")) throw new Error(`CompleteMultipartUpload: ${answer}`);
  return { start, parts: partsSeconds, complete: lap() } satisfies Steps;
}

/** Deletes every object in the bucket, so that the rounds do not pile gigabytes up on disk. */
async function emptyBucket({ endpoint, bucket, client }: S3Process) {
  for (;;) {
    const listing = await (await client.fetch(`${endpoint}/${bucket}?list-type=2`)).text();
    const keys = [...listing.matchAll(/<Key>([^<]+)<\/Key>/g)].map((m) => m[1] as string);
    if (keys.length === 0) return;
    for (const key of keys) {
      const res = await client.fetch(`${endpoint}/${bucket}/${key}`, { method: "DELETE" });
      await res.arrayBuffer();
    }
  }
}

/** Runs `work`, answering its result and the CPU the workerd processes under `pid` spent meanwhile. */
async function withWorkerdCpu<T>(pid: number, work: () => Promise<T>): Promise<{ result: T; cpuMs: number }> {
  const before = workerdCpuMs(pid);
  const result = await work();
  return { result, cpuMs: workerdCpuMs(pid) - before };
}

export async function benchDirect(options: { bytes: number; rounds: number }) {
  const s3 = await startS3Process();
  try {
    await benchDirectOn(s3, options);
  } finally {
    await s3.stop();
  }
}

async function benchDirectOn(s3: S3Process, options: { bytes: number; rounds: number }) {
  const app = await startWrangler(join(root, "wrangler.toml"), 18861, [...quiet, ...s3.workerArgs], {
    migrate: true,
  });
  try {
    const pid = app.process.pid as number;
    const key = (await signUp(app.url, "direct")).key;
    const size = options.bytes;
    // The first of each loads code and opens the stores.
    await directUpload(app.url, key, 20 * MiB);
    await tusUpload(app.url, key, 20 * MiB);
    await emptyBucket(s3);
    const idle = await withWorkerdCpu(pid, () => new Promise((r) => setTimeout(r, 2000)));

    const direct: { steps: Steps; cpuMs: number }[] = [];
    const bare: Steps[] = [];
    const tus: { seconds: number; cpuMs: number }[] = [];
    let plan = { partSize: 0, partCount: 0 };
    const runDirect = async () => {
      const d = await withWorkerdCpu(pid, () => directUpload(app.url, key, size));
      plan = d.result;
      direct.push({ steps: d.result.steps, cpuMs: d.cpuMs });
    };
    const runBare = async () => {
      bare.push(await bareMultipartUpload(s3, `bare/${bare.length}`, size, plan.partSize));
    };
    for (let round = 0; round < options.rounds; round++) {
      // Each side goes first in every other round, so that neither always meets the disk as the
      // previous round left it; the first round starts with a direct upload, whose part size the
      // bare side then uses.
      for (const run of round % 2 === 0 ? [runDirect, runBare] : [runBare, runDirect]) {
        await run();
      }
      const t = await withWorkerdCpu(pid, () => tusUpload(app.url, key, size));
      tus.push({ seconds: t.result, cpuMs: t.cpuMs });
      await emptyBucket(s3);
    }

    const total = (steps: Steps) => steps.start + steps.parts + steps.complete;
    const summary = (all: Steps[]) => {
      const seconds = median(all.map(total));
      const step = (k: keyof Steps) => `${k} ${fmt(median(all.map((x) => x[k])), 2)} s`;
      return {
        seconds,
        text: `${fmt(seconds, 2)} s, ${fmt(size / MiB / seconds)} MiB/s (${step("start")}, ${step("parts")}, ${step("complete")})`,
      };
    };
    const d = summary(direct.map((x) => x.steps));
    const b = summary(bare);
    printTable("Direct upload on the S3 backend vs a bare S3 multipart upload (same s3rver, no Worker)", [
      [
        "bytes per upload",
        `${size} (${fmt(size / MiB, 0)} MiB) in ${plan.partCount} parts of ${fmt(plan.partSize / MiB, 0)} MiB, ${PART_CONCURRENCY} at a time; ${options.rounds} rounds (medians)`,
      ],
      ["direct: creation to completion", d.text],
      ["bare: create, parts, complete", b.text],
      ["throughput ratio direct/bare (target ≥ 0.95)", fmt(b.seconds / d.seconds, 2)],
    ]);

    const perGiB = (cpuMs: number) => cpuMs / 1000 / (size / GiB);
    const tusCpu = perGiB(median(tus.map((t) => t.cpuMs)));
    const directCpu = perGiB(median(direct.map((d) => d.cpuMs)));
    printTable("Worker CPU per GiB into the S3 backend: tus vs direct (workerd processes, /proc)", [
      [
        "tus (PATCHes of 50 MiB)",
        `${fmt(tusCpu, 3)} CPU s/GiB (${fmt(size / MiB / median(tus.map((t) => t.seconds)))} MiB/s)`,
      ],
      ["direct", `${fmt(directCpu, 3)} CPU s/GiB`],
      ["CPU ratio tus/direct", fmt(tusCpu / directCpu, 1)],
      ["workerd idle, for scale", `${fmt(idle.cpuMs / 2, 1)} CPU ms/s`],
    ]);
  } finally {
    await app.stop();
  }
}
