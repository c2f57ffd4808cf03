/**
 * The transcoder process: `node transcoder/main.ts`, the same command locally (`npm start`) and in
 * the container (Dockerfile.transcoder). Listens on HOST:PORT (default 0.0.0.0:8788) and exits
 * cleanly on SIGTERM/SIGINT: running ffmpeg processes are stopped and their jobs end `cancelled`
 * without a final event (the Worker's sweep re-queues them elsewhere), then it exits.
 * Settings: README.md, "Transcoder".
 */
import { runTranscodeJob } from "./pipeline.ts";
import { createTranscoderServer } from "./server.ts";
import { settingsFromEnv } from "./settings.ts";

const host = process.env.HOST ?? "0.0.0.0";
const port = Number(process.env.PORT ?? 8788);
const log = (msg: string, fields?: Record<string, unknown>) =>
  console.log(JSON.stringify({ ts: new Date().toISOString(), service: "transcoder", msg, ...fields }));

const settings = settingsFromEnv(process.env);

const { server, shutdown } = createTranscoderServer({
  runJob: (job, signal, onStatus) => runTranscodeJob(job, { signal, onStatus, log, settings }),
  maxConcurrentJobs: Number(process.env.MAX_CONCURRENT_JOBS ?? 1),
  log,
});

server.listen(port, host, () => log("listening", { url: `http://${host}:${port}`, ...settings }));

let stopping = false;
for (const sig of ["SIGTERM", "SIGINT"] as const) {
  process.on(sig, () => {
    if (stopping) return;
    stopping = true;
    log("shutting down", { signal: sig });
    shutdown().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}
