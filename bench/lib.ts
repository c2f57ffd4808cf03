/** Helpers for `npm run bench`: drive load, summarise (Workers start through test/support/platform.ts). */
export interface LoadResult {
  requests: number;
  errors: number;
  seconds: number;
  rps: number;
  p50: number;
  p99: number;
}

/** Sends `requests` requests over `concurrency` connections; latencies in milliseconds. */
export async function load(
  makeRequest: () => Promise<Response>,
  requests: number,
  concurrency: number,
): Promise<LoadResult> {
  const latencies: number[] = [];
  let errors = 0;
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < requests) {
      next++;
      const t0 = performance.now();
      try {
        const res = await makeRequest();
        await res.arrayBuffer();
        if (!res.ok) errors++;
      } catch {
        errors++;
      }
      latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? 0;
  return { requests, errors, seconds, rps: requests / seconds, p50: pct(50), p99: pct(99) };
}

/**
 * Measures A and B in alternating rounds (A B A B …) so that drift on a shared machine hits both
 * equally; returns the per-side medians of throughput and p99.
 */
export async function sideBySide(
  a: () => Promise<LoadResult>,
  b: () => Promise<LoadResult>,
  rounds: number,
): Promise<{ a: LoadResult; b: LoadResult }> {
  const as: LoadResult[] = [];
  const bs: LoadResult[] = [];
  for (let i = 0; i < rounds; i++) {
    as.push(await a());
    bs.push(await b());
  }
  const median = (xs: LoadResult[]): LoadResult => {
    const by = (k: keyof LoadResult) => [...xs].sort((x, y) => x[k] - y[k])[Math.floor(xs.length / 2)]?.[k] ?? 0;
    return {
      requests: by("requests"),
      errors: xs.reduce((n, x) => n + x.errors, 0),
      seconds: by("seconds"),
      rps: by("rps"),
      p50: by("p50"),
      p99: by("p99"),
    };
  };
  return { a: median(as), b: median(bs) };
}

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

export const fmt = (n: number, digits = 1) => n.toFixed(digits);

export function printTable(title: string, rows: [string, string][]) {
  console.log(`\n## ${title}`);
  const width = Math.max(...rows.map(([k]) => k.length));
  for (const [k, v] of rows) console.log(`  ${k.padEnd(width)}  ${v}`);
}
