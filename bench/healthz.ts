/** `GET /healthz` through the full app (middleware, logging, errors) against a bare Worker. */
import { join } from "node:path";
import { root, startWrangler } from "../test/support/platform.ts";
import { fmt, load, printTable, sideBySide } from "./lib.ts";

export async function benchHealthz(options: { requests: number; concurrency: number; rounds: number }) {
  const app = await startWrangler(join(root, "wrangler.toml"), 18801, ["--var", "LOG_LEVEL:error"]);
  const bare = await startWrangler(join(root, "bench", "bare", "wrangler.toml"), 18802);
  try {
    const run = (url: string) => () => load(() => fetch(`${url}/healthz`), options.requests, options.concurrency);
    await run(app.url)();
    await run(bare.url)();
    const { a, b } = await sideBySide(run(app.url), run(bare.url), options.rounds);
    printTable("GET /healthz: full app vs bare Worker (same wrangler dev runtime)", [
      ["requests per round", `${options.requests} at concurrency ${options.concurrency}, ${options.rounds} rounds`],
      ["app  req/s, p50, p99", `${fmt(a.rps)} req/s, ${fmt(a.p50, 2)} ms, ${fmt(a.p99, 2)} ms (errors ${a.errors})`],
      ["bare req/s, p50, p99", `${fmt(b.rps)} req/s, ${fmt(b.p50, 2)} ms, ${fmt(b.p99, 2)} ms (errors ${b.errors})`],
      ["throughput ratio app/bare", fmt(a.rps / b.rps, 2)],
      ["p99 ratio app/bare", fmt(a.p99 / b.p99, 2)],
    ]);
    return { appRps: a.rps, bareRps: b.rps };
  } finally {
    await app.stop();
    await bare.stop();
  }
}
