/**
 * The runner process: `node transcoder/main.ts`, the same program under `npm start`, in the
 * Transcoder container (Dockerfile.transcoder) and on anyone's machine (`npm run runner`). It
 * claims work units from the Worker at RUNNER_API_BASE with RUNNER_TOKEN, RUNNER_CONCURRENCY at a
 * time (runner.ts), and answers `GET /healthz` on HOST:PORT (default 127.0.0.1:8788).
 *
 * SIGTERM/SIGINT/SIGHUP: it stops claiming, stops ffmpeg and exits 0 without a final event for the units
 * it held; the Worker gives them back as pending when their lease runs out, or at once on this
 * runner's next claim after a restart. Exits 78 when its settings are not valid or its token is
 * refused (unknown or revoked): restarting it would not help. Settings: README.md, "Transcoder".
 */
import { createHealthServer } from "./health.ts";
import { type Runner, startRunner } from "./runner.ts";
import { EXIT_CONFIG, runnerSettingsFromEnv, settingsFromEnv } from "./settings.ts";
import { createUnitWork } from "./units.ts";

const log = (msg: string, fields?: Record<string, unknown>) =>
  console.log(JSON.stringify({ ts: new Date().toISOString(), service: "runner", msg, ...fields }));

let settings: ReturnType<typeof settingsFromEnv>;
let runnerSettings: ReturnType<typeof runnerSettingsFromEnv>;
try {
  settings = settingsFromEnv(process.env);
  runnerSettings = runnerSettingsFromEnv(process.env);
} catch (err) {
  log("not starting: a setting is not valid", { error: err instanceof Error ? err.message : String(err) });
  process.exit(EXIT_CONFIG);
}
const { apiBase, token, concurrency, name, host, port } = runnerSettings;

const work = createUnitWork({ log, settings });
let runner: Runner | undefined;
const health = createHealthServer(() => (runner as Runner).status());

// The health port first: a runner that cannot listen has claimed nothing yet.
health.on("error", (err: NodeJS.ErrnoException) => {
  log("not starting: the health port is not available", {
    error: err.message,
    hint: err.code === "EADDRINUSE" ? `port ${port} is in use; set PORT to another one (0: any free port)` : undefined,
  });
  process.exit(EXIT_CONFIG);
});
health.listen(port, host, () => {
  const address = health.address();
  const bound = typeof address === "object" && address ? address.port : port;
  log("runner started", {
    name,
    apiBase,
    capacity: concurrency,
    health: `http://${host}:${bound}/healthz`,
    ...settings,
  });
  runner = startRunner({ apiBase, token, capacity: concurrency, work, log });
  void runner.done.then((end) => {
    health.close();
    health.closeAllConnections();
    if (end === "refused") {
      log("exiting: the Worker refused this runner's token (unknown or revoked); ask an admin for a new one");
      process.exit(EXIT_CONFIG);
    }
    log("stopped");
    process.exit(0);
  });
});

/** A stop that takes longer than this (an ffmpeg that does not exit) ends the process anyway. */
const STOP_GRACE_MS = 30_000;

for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"] as const) {
  process.on(signal, () => {
    if (!runner) process.exit(0);
    if (runner.status().state === "stopping") return;
    log("shutting down; units in hand are given back", {
      signal,
      units: runner.status().running.map((u) => u.unitId),
    });
    setTimeout(() => {
      log("stopping took too long; exiting");
      process.exit(1);
    }, STOP_GRACE_MS).unref();
    void runner.stop();
  });
}
