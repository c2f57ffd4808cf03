/**
 * Publishes a video on a running app without FFmpeg, for benchmarks that only need something to
 * serve: a stand-in transcoder accepts the job, then stores the given files and reports
 * completion through the internal job API, exactly as the real transcoder does.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { TranscodeJob } from "../shared/protocol.ts";

export async function acceptingTranscoder() {
  const jobs: TranscodeJob[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (d) => {
      body += d;
    });
    req.on("end", () => {
      if (req.method === "POST" && req.url === "/jobs") jobs.push(JSON.parse(body) as TranscodeJob);
      res.writeHead(202, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, jobs, close: () => new Promise<void>((r) => server.close(() => r())) };
}

export async function completeJob(job: TranscodeJob, files: Record<string, Uint8Array | string>) {
  const auth = { authorization: `Bearer ${job.token}` };
  for (const [name, body] of Object.entries(files)) {
    const bytes = typeof body === "string" ? body : new Blob([body as Uint8Array<ArrayBuffer>]);
    const res = await fetch(`${job.apiBase}/files/${name}`, { method: "PUT", headers: auth, body: bytes });
    if (res.status !== 201) throw new Error(`PUT ${name}: ${res.status} ${await res.text()}`);
  }
  const res = await fetch(`${job.apiBase}/events`, {
    method: "POST",
    headers: { ...auth, "content-type": "application/json" },
    body: JSON.stringify({
      type: "completed",
      duration: 4,
      width: 1280,
      height: 720,
      renditions: [{ id: "0", kind: "video", width: 1280, height: 720, bandwidth: 3_000_000, codecs: "avc1.640020" }],
      files: Object.keys(files),
      poster: null,
    }),
  });
  if (!res.ok) throw new Error(`completed event: ${res.status} ${await res.text()}`);
}
