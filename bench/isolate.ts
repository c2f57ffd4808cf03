/**
 * The Worker isolate's own memory, read through the DevTools protocol of `wrangler dev
 * --inspector-port`: the V8 heap and the ArrayBuffer backing stores, which together count against
 * a Worker's 128 MB limit in production. The runtime's RSS (memory.ts) also holds the local
 * R2/D1/Queue simulators and the allocator's caches; this is the part the Worker's code controls.
 */

export interface IsolateMemory {
  /** V8 heap in use, bytes. */
  heap: number;
  /** ArrayBuffer backing stores (request chunks, part buffers), bytes. */
  buffers: number;
}

export interface IsolateInspector {
  /** Current use, garbage included (no collection). */
  usage(): Promise<IsolateMemory>;
  /** Use after a full garbage collection: what is still referenced. */
  live(): Promise<IsolateMemory>;
  /**
   * Samples `usage()` while `work` runs; returns the largest heap + buffers seen, overall and in
   * each window (`windowOf()` at the time of a sample, e.g. the GiB being uploaded).
   */
  peakDuring<T>(
    work: () => Promise<T>,
    options?: { intervalMs?: number; windowOf?: () => number },
  ): Promise<{ result: T; peak: IsolateMemory; windows: IsolateMemory[] }>;
  close(): void;
}

interface HeapUsage {
  usedSize: number;
  backingStorageSize?: number;
}

/** Connects to the Worker listed by the inspector on `port` (wrangler's proxy checks the Origin). */
export async function inspectIsolate(port: number): Promise<IsolateInspector> {
  const targets = (await (await fetch(`http://127.0.0.1:${port}/json`)).json()) as { webSocketDebuggerUrl: string }[];
  const target = targets[0];
  if (!target) throw new Error(`no Worker listed by the inspector on port ${port}`);
  // Node's WebSocket (undici) takes headers as an extension of the standard constructor.
  const ws = new WebSocket(target.webSocketDebuggerUrl, {
    headers: { origin: `http://127.0.0.1:${port}` },
  } as unknown as string[]);
  await new Promise<void>((resolve, reject) => {
    ws.addEventListener("open", () => resolve(), { once: true });
    ws.addEventListener("error", () => reject(new Error("the inspector refused the connection")), { once: true });
  });
  let nextId = 1;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  ws.addEventListener("message", (event) => {
    const message = JSON.parse(String(event.data)) as { id?: number; result?: unknown; error?: { message: string } };
    const waiter = message.id === undefined ? undefined : pending.get(message.id);
    if (!waiter || message.id === undefined) return; // events, heap snapshot chunks, the proxy's own calls
    pending.delete(message.id);
    if (message.error) waiter.reject(new Error(message.error.message));
    else waiter.resolve(message.result);
  });
  const call = <T>(method: string, params: object = {}) =>
    new Promise<T>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      ws.send(JSON.stringify({ id, method, params }));
    });
  await call("HeapProfiler.enable");

  const usage = async (): Promise<IsolateMemory> => {
    const u = await call<HeapUsage>("Runtime.getHeapUsage");
    return { heap: u.usedSize, buffers: u.backingStorageSize ?? 0 };
  };
  return {
    usage,
    async live() {
      // A heap snapshot starts with a full collection; its chunks are ignored.
      await call("HeapProfiler.takeHeapSnapshot", { reportProgress: false });
      return usage();
    },
    async peakDuring(work, options = {}) {
      const { intervalMs = 100, windowOf = () => 0 } = options;
      const windows: IsolateMemory[] = [];
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          const now = await usage();
          const k = windowOf();
          const seen = windows[k];
          if (!seen || now.heap + now.buffers > seen.heap + seen.buffers) windows[k] = now;
          await new Promise((r) => setTimeout(r, intervalMs));
        }
      })();
      let result: Awaited<ReturnType<typeof work>>;
      try {
        result = await work();
      } finally {
        sampling = false;
        await sampler;
      }
      const filled = windows.filter(Boolean);
      const peak = filled.reduce((a, b) => (b.heap + b.buffers > a.heap + a.buffers ? b : a), { heap: 0, buffers: 0 });
      return { result, peak, windows: filled };
    },
    close: () => ws.close(),
  };
}
