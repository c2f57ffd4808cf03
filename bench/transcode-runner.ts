/**
 * One transcode job in its own process, for `npm run bench -- transcode`: runs runTranscodeJob
 * for the job given as JSON in argv[2] and prints `{ wallMs, cpuMs, state }` on stdout. CPU is
 * user + system time of this process and of the children it waited for (ffprobe, ffmpeg), from
 * /proc/self/stat, so it covers everything the transcoder spends on the job.
 */

import type { TranscodeJob } from "../shared/protocol.ts";
import { runTranscodeJob } from "../transcoder/pipeline.ts";
import { selfAndChildrenCpuMs } from "./cpu.ts";

const job = JSON.parse(process.argv[2] ?? "{}") as TranscodeJob;
let state = "accepted";
const cpu0 = selfAndChildrenCpuMs();
const t0 = performance.now();
await runTranscodeJob(job, {
  signal: new AbortController().signal,
  onStatus: (update) => {
    state = update.state ?? state;
  },
  log: (msg, fields) => {
    if (msg !== "retrying") return;
    process.stderr.write(`${msg} ${JSON.stringify(fields)}\n`);
  },
});
const wallMs = performance.now() - t0;
const cpuMs = selfAndChildrenCpuMs() - cpu0;
process.stdout.write(`${JSON.stringify({ wallMs, cpuMs, state })}\n`);
