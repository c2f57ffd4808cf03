/**
 * What the rate limiter adds to an API call: `GET /api/auth/user/` with a key (auth lookup in D1,
 * then one RateLimiter Durable Object call) against the same app with `RATE_LIMIT_ENABLED=false`.
 */
import { join } from "node:path";
import { root, signUp, startWrangler } from "../test/support/platform.ts";
import { fmt, load, printTable, sideBySide } from "./lib.ts";

export async function benchRateLimit(options: { requests: number; concurrency: number; rounds: number }) {
  const config = join(root, "wrangler.toml");
  const quiet = ["--var", "LOG_LEVEL:error"];
  // Limits far above the load, so every request is counted and none is refused.
  const limited = await startWrangler(
    config,
    18821,
    [...quiet, "--var", "RATE_LIMIT_ENABLED:true", "--var", "RATE_LIMIT_USER_PER_DAY:1000000000"],
    { migrate: true },
  );
  const unlimited = await startWrangler(config, 18822, [...quiet, "--var", "RATE_LIMIT_ENABLED:false"], {
    migrate: true,
  });
  try {
    const keys = {
      limited: (await signUp(limited.url, "bench")).key,
      unlimited: (await signUp(unlimited.url, "bench")).key,
    };
    const run = (url: string, key: string) => () =>
      load(
        () => fetch(`${url}/api/auth/user/`, { headers: { authorization: `Token ${key}` } }),
        options.requests,
        options.concurrency,
      );
    const withLimiter = run(limited.url, keys.limited);
    const without = run(unlimited.url, keys.unlimited);
    const check = await fetch(`${limited.url}/api/auth/user/`, { headers: { authorization: `Token ${keys.limited}` } });
    if (!check.headers.get("ratelimit-limit")) throw new Error("the limited app answered without RateLimit headers");
    await withLimiter();
    await without();
    const { a, b } = await sideBySide(withLimiter, without, options.rounds);
    printTable("GET /api/auth/user/ with a key: rate limiter on vs RATE_LIMIT_ENABLED=false (same runtime)", [
      ["requests per round", `${options.requests} at concurrency ${options.concurrency}, ${options.rounds} rounds`],
      [
        "limited   req/s, p50, p99",
        `${fmt(a.rps)} req/s, ${fmt(a.p50, 2)} ms, ${fmt(a.p99, 2)} ms (errors ${a.errors})`,
      ],
      [
        "unlimited req/s, p50, p99",
        `${fmt(b.rps)} req/s, ${fmt(b.p50, 2)} ms, ${fmt(b.p99, 2)} ms (errors ${b.errors})`,
      ],
      ["added p50 latency", `${fmt(a.p50 - b.p50, 2)} ms`],
      ["throughput ratio limited/unlimited", fmt(a.rps / b.rps, 2)],
      ["p50 ratio limited/unlimited", fmt(a.p50 / b.p50, 2)],
      ["p99 ratio limited/unlimited", fmt(a.p99 / b.p99, 2)],
    ]);
    return { limitedRps: a.rps, unlimitedRps: b.rps };
  } finally {
    await limited.stop();
    await unlimited.stop();
  }
}
