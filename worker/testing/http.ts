/** Helpers for upload tests: requests through the app with a queue that records what it is sent. */
import { env } from "cloudflare:workers";
import { app } from "../app";

export function recordingQueue() {
  const sent: unknown[] = [];
  const queue = {
    send: async (body: unknown) => {
      sent.push(body);
    },
    sendBatch: async (messages: Iterable<{ body: unknown }>) => {
      for (const m of messages) sent.push(m.body);
    },
  } as unknown as Queue;
  return { queue, sent };
}

export function callApp(path: string, init: RequestInit, queue?: Queue, vars: Record<string, string> = {}) {
  const bindings = { ...env, ...(queue ? { TRANSCODE_QUEUE: queue } : {}), ...vars };
  return app.request(`http://api.test${path}`, init, bindings);
}

export function form(fields: Record<string, string | Blob>, filename = "clip.mp4") {
  const body = new FormData();
  for (const [k, v] of Object.entries(fields)) {
    if (typeof v === "string") body.append(k, v);
    else body.append(k, v, filename);
  }
  return body;
}

export const b64 = (s: string) => btoa(String.fromCharCode(...new TextEncoder().encode(s)));

export function tusMetadata(meta: Record<string, string>) {
  return Object.entries(meta)
    .map(([k, v]) => `${k} ${b64(v)}`)
    .join(",");
}

export const TUS = { "tus-resumable": "1.0.0" };

/** Deterministic bytes that start like an MP4. */
export function mp4Like(size: number): Uint8Array {
  const out = new Uint8Array(size);
  let x = 12345;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    out[i] = x >>> 16;
  }
  out.set([0, 0, 0, 0x20, 0x66, 0x74, 0x79, 0x70, 0x69, 0x73, 0x6f, 0x6d], 0);
  return out;
}
