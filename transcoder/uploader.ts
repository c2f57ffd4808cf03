/**
 * Uploads segments while ffmpeg is still encoding, and deletes each one once it is stored, so the
 * scratch directory holds only what is in flight whatever the length of the video.
 *
 * When is a file finished? ffmpeg's dash muxer writes every media segment to `<name>.tmp` and
 * renames it when it is complete, so a `chunk-*.m4s` under its final name is done. An init
 * segment is written under its final name and closed before the first media segment of its
 * Representation, so it is done once that segment exists. Manifests and the poster are rewritten
 * or written in place, so they are left to the caller at the end.
 */
import { readdir, readFile, stat, unlink } from "node:fs/promises";
import { join } from "node:path";
import { INIT_SEGMENT_NAME, MEDIA_SEGMENT_NAME } from "./encode.ts";
import type { JobApiClient } from "./job-api.ts";

export interface UploaderOptions {
  dir: string;
  api: JobApiClient;
  concurrency: number;
  /** Above this many bytes waiting for upload, back-pressure turns on; below half of it, off. */
  maxPendingBytes: number;
  /** A file could not be stored even after retries; the job cannot complete. */
  onFatal?: (error: Error) => void;
  /** A file is stored. */
  onStored?: (name: string) => void;
  signal: AbortSignal;
  pollIntervalMs?: number;
}

export interface Uploader {
  /** Every file stored so far, with its size in bytes, in upload order. */
  readonly uploaded: Map<string, number>;
  /** The first file that could not be stored, if any. */
  readonly failure: Error | null;
  /** Once ffmpeg has exited: stores every remaining segment and waits for all uploads. */
  finish(): Promise<void>;
  /** Stores one file from the directory (or the given bytes) now, then deletes it locally. */
  uploadNow(name: string, body?: Uint8Array<ArrayBuffer>): Promise<void>;
  /** Stops scanning; in-flight uploads end with the job's signal. */
  stop(): void;
  /** Calls `listener(true)` when uploads fall behind (now, if they are), `(false)` when they catch up. */
  watchBackpressure(listener: (paused: boolean) => void): () => void;
}

export function startUploader(options: UploaderOptions): Uploader {
  const uploaded = new Map<string, number>();
  const known = new Set<string>();
  const queue: { name: string; size: number }[] = [];
  const repsWithSegments = new Set<string>();
  let pendingBytes = 0;
  let pressured = false;
  let active = 0;
  let failure: Error | null = null;
  let stopped = false;
  const idleWaiters: (() => void)[] = [];
  const pressureListeners = new Set<(paused: boolean) => void>();

  const updatePressure = () => {
    if (!pressured && pendingBytes > options.maxPendingBytes) {
      pressured = true;
      for (const listener of pressureListeners) listener(true);
    } else if (pressured && pendingBytes <= options.maxPendingBytes / 2) {
      pressured = false;
      for (const listener of pressureListeners) listener(false);
    }
  };

  const store = async (name: string, body?: Uint8Array<ArrayBuffer>) => {
    const path = join(options.dir, name);
    const bytes = body ?? (await readFile(path));
    await options.api.putFile(name, bytes, options.signal);
    uploaded.set(name, bytes.byteLength);
    options.onStored?.(name);
    await unlink(path).catch(() => {});
  };

  const pump = () => {
    while (!failure && !options.signal.aborted && active < options.concurrency && queue.length > 0) {
      const item = queue.shift() as { name: string; size: number };
      active++;
      store(item.name)
        .catch((err: unknown) => {
          if (options.signal.aborted) return;
          if (!failure) {
            failure = err instanceof Error ? err : new Error(String(err));
            options.onFatal?.(failure);
          }
        })
        .finally(() => {
          active--;
          pendingBytes -= item.size;
          updatePressure();
          pump();
          if (active === 0 && queue.length === 0) for (const wake of idleWaiters.splice(0)) wake();
        });
    }
    if ((failure || options.signal.aborted) && active === 0) for (const wake of idleWaiters.splice(0)) wake();
  };

  const enqueue = async (name: string) => {
    known.add(name);
    const size = (await stat(join(options.dir, name)).catch(() => null))?.size ?? 0;
    queue.push({ name, size });
    pendingBytes += size;
    updatePressure();
    pump();
  };

  let scanning: Promise<void> | null = null;
  const scan = (final: boolean) => {
    scanning ??= (async () => {
      const names = await readdir(options.dir).catch(() => [] as string[]);
      const segments = names.filter((n) => !known.has(n) && MEDIA_SEGMENT_NAME.test(n));
      for (const n of segments) repsWithSegments.add((MEDIA_SEGMENT_NAME.exec(n) as RegExpExecArray)[1] as string);
      const inits = names.filter((n) => {
        const rep = INIT_SEGMENT_NAME.exec(n)?.[1];
        return rep !== undefined && !known.has(n) && (final || repsWithSegments.has(rep));
      });
      // Init segments first: a player needs them before any media segment.
      for (const n of [...inits, ...segments.sort()]) await enqueue(n);
    })().finally(() => {
      scanning = null;
    });
    return scanning;
  };

  const timer = setInterval(() => {
    if (!stopped && !options.signal.aborted) void scan(false);
  }, options.pollIntervalMs ?? 250);
  const stop = () => {
    stopped = true;
    clearInterval(timer);
  };
  options.signal.addEventListener("abort", stop, { once: true });

  const idle = () =>
    new Promise<void>((resolve) => {
      if ((active === 0 && queue.length === 0) || failure || options.signal.aborted) resolve();
      else idleWaiters.push(resolve);
    });

  return {
    uploaded,
    get failure() {
      return failure;
    },
    async finish() {
      stop();
      await scanning;
      await scan(true);
      await idle();
      if (failure) throw failure;
    },
    async uploadNow(name, body) {
      if (failure) throw failure;
      known.add(name);
      await store(name, body);
    },
    stop,
    watchBackpressure(listener) {
      pressureListeners.add(listener);
      if (pressured) listener(true);
      return () => pressureListeners.delete(listener);
    },
  };
}
