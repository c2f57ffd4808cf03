/**
 * Import tests: the app called with recording transcode and import queues, and the `import`
 * queue's messages handed to the Worker's own queue handler with the same bindings, as the
 * platform would deliver them. The origin is the test HTTP server of the global setup
 * (test/import-origin.ts), reached directly on 127.0.0.1 or through the public-looking name
 * `import-origin.test` (see vitest.config.ts).
 */
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { inject } from "vitest";
import worker from "../index";
import { createServices } from "../services";
import { type ImportLimits, type ImportMessage, runImport } from "../uploads/import";
import { callApp, recordingQueue, signedInUser, testBindings, type VideoJson } from "./api";
import { tinyMp4 } from "./seed";

const origin = inject("importOrigin");

/** The test origin on 127.0.0.1 (reachable only with IMPORT_ALLOW_PRIVATE_HOSTS). */
export const originUrl = (path: string) => `${origin.url}${path}`;
/** The test origin by a name that passes the public-host rules, as a name in public DNS would. */
export const publicOriginUrl = (path: string) => `http://import-origin.test:${origin.port}${path}`;
/** What an import test needs to reach the origin on 127.0.0.1. */
export const PRIVATE_HOSTS_ALLOWED = { IMPORT_ALLOW_PRIVATE_HOSTS: "true" };

/** `/video.mp4?size=N` as the origin serves it: the tiny fixture's bytes repeated. */
export function originBytes(size: number): Uint8Array {
  const tiny = tinyMp4();
  const out = new Uint8Array(size);
  for (let at = 0; at < size; at += tiny.length) out.set(tiny.subarray(0, Math.min(tiny.length, size - at)), at);
  return out;
}

/** The requests the origin saw in the series `key` (test/import-origin.ts). */
export async function originRequests(
  key: string,
): Promise<{ path: string; range: string | null; ifRange: string | null }[]> {
  return (await fetch(originUrl(`/requests?key=${key}`))).json();
}

/** Lets a held answer of the series `key` go on. */
export async function releaseOrigin(key: string) {
  await fetch(originUrl(`/release?key=${key}`), { method: "POST" });
}

/** A signed-in user who imports, with recording queues and `vars` as settings for every call. */
export async function importer(vars: Record<string, string> = {}) {
  const user = await signedInUser();
  const transcode = recordingQueue();
  const imports = recordingQueue();
  const queues = { transcode: transcode.queue, imports: imports.queue };
  let delivered = 0;

  const start = (body: Record<string, unknown>, auth: Record<string, string> = user.auth) =>
    callApp(
      "/api/videos/import/",
      { method: "POST", headers: { ...auth, "content-type": "application/json" }, body: JSON.stringify(body) },
      queues,
      vars,
    );

  const video = async (id: string) => {
    const res = await callApp(`/api/videos/${id}/`, { headers: user.auth }, queues, vars);
    return (await res.json()) as VideoJson;
  };

  /**
   * Delivers the import messages sent so far (and those they send, as a long import's next run)
   * to the Worker's queue handler; resolves with what each delivery asked of the queue.
   */
  const drain = async () => {
    const results: { acked: boolean; retried: boolean }[] = [];
    while (delivered < imports.sent.length) {
      const body = imports.sent[delivered++];
      const id = `m${delivered}`;
      const batch = createMessageBatch("import", [{ id, timestamp: new Date(), attempts: 1, body }]);
      const ctx = createExecutionContext();
      await worker.queue(batch, testBindings(queues, vars), ctx);
      const result = await getQueueResult(batch, ctx);
      results.push({ acked: result.explicitAcks.includes(id), retried: result.retryMessages.length > 0 });
    }
    return results;
  };

  /** One import message run by `runImport` itself, with other limits (e.g. a short run). */
  const runWith = async (message: ImportMessage, limits: ImportLimits) =>
    runImport(createServices(testBindings(queues, vars)), message, limits);

  /** Starts an import of `url` and runs it to its end; the video as it ended. */
  const importUrl = async (url: string, fields: Record<string, unknown> = {}) => {
    const res = await start({ url, title: "Imported", ...fields });
    if (res.status !== 202) throw new Error(`import refused: ${res.status} ${await res.text()}`);
    const created = (await res.json()) as VideoJson;
    await drain();
    return video(created.id);
  };

  return { user, transcode, imports, start, video, drain, runWith, importUrl };
}

export const seriesKey = () => crypto.randomUUID();
