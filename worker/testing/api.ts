/**
 * Helpers for Worker tests: calls through the Worker's entry, each test client
 * with its own client address so anonymous calls of one test never use up another's daily limit.
 * Only test files import this module.
 */

import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import type { z } from "@hono/zod-openapi";
import type { ErrorEnvelope } from "../app/errors";
import worker from "../index";
import type { KeySchema, UserSchema } from "../routes/auth/auth.routes";
import type { VideoSchema } from "../videos/videos.schema";

let clients = 0;

/** A fresh private-range address per call. */
export function uniqueIp(): string {
  clients += 1;
  return `10.${(clients >> 16) & 255}.${(clients >> 8) & 255}.${clients & 255}`;
}

export interface CallOptions {
  body?: unknown;
  /** Sent as is, with `Content-Type: application/json` (for malformed bodies). */
  rawBody?: string;
  key?: string;
  /** `Token` by default, as the old service's clients send it. */
  scheme?: string;
  headers?: Record<string, string>;
}

/** Response bodies as the API describes them: inferred from the same zod schemas the routes answer with. */
export type Envelope = ErrorEnvelope;
export type UserJson = z.infer<typeof UserSchema>;
export type KeyWithUser = z.infer<typeof KeySchema>;
export type VideoJson = z.infer<typeof VideoSchema>;

/** Queues that stand in for the app's own in a call: TRANSCODE_QUEUE alone, or any of them by role. */
export type TestQueues = Queue | { transcode?: Queue; imports?: Queue };

/** The test bindings with `queues` and `vars` in place of the app's own. */
export function testBindings(queues?: TestQueues, vars: Record<string, string> = {}): Env {
  const byRole = queues && "send" in queues ? { transcode: queues } : (queues ?? {});
  return {
    ...env,
    ...(byRole.transcode ? { TRANSCODE_QUEUE: byRole.transcode } : {}),
    ...(byRole.imports ? { IMPORT_QUEUE: byRole.imports } : {}),
    ...vars,
  } as Env;
}

/**
 * The one way Worker tests call the app: the Worker's own `fetch` entry, in this isolate, with the
 * test bindings, `queue` standing in for TRANSCODE_QUEUE (e.g. {@link recordingQueue}, or queues
 * by role) and `vars` as settings for this call. In-process, so a request body that errors
 * midway reaches the handler as a connection cut off would.
 */
export async function callApp(
  path: string,
  init: RequestInit = {},
  queue?: TestQueues,
  vars: Record<string, string> = {},
): Promise<Response> {
  const bindings = testBindings(queue, vars);
  let request = new Request(`http://api.test${path}`, init);
  // A body known in full arrives with its length, as over a connection; a stream stays chunked.
  if (init.body != null && !(init.body instanceof ReadableStream) && !request.headers.has("content-length")) {
    const bytes = await request.arrayBuffer();
    const headers = new Headers(request.headers);
    headers.set("content-length", String(bytes.byteLength));
    request = new Request(request.url, { method: request.method, headers, body: bytes });
  }
  // What the request left for after its answer (cleanup, bookkeeping) is done before the test
  // looks, as where no execution context exists and it runs in place.
  const ctx = createExecutionContext();
  const res = await worker.fetch(request, bindings, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

/** A queue that records what it is sent, for {@link callApp}. */
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

/** JSON calls from one client address, through {@link callApp}. */
export function apiClient(ip: string = uniqueIp()) {
  const call = (method: string, path: string, options: CallOptions = {}) => {
    const headers: Record<string, string> = { "CF-Connecting-IP": ip, ...options.headers };
    if (options.key !== undefined) headers.Authorization = `${options.scheme ?? "Token"} ${options.key}`;
    const body = options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
    if (body !== undefined) headers["Content-Type"] = "application/json";
    return callApp(path, { method, headers, body });
  };
  return { ip, call };
}

export type ApiClient = ReturnType<typeof apiClient>;

let users = 0;

/**
 * The one way Worker tests get a signed-in user: signed up through the API (from `client`, a
 * fresh client address by default). Returns the user's fields, the API key, `auth` headers that
 * carry it, the password and the client.
 */
export async function signedInUser(
  options: Partial<{ username: string; email: string; password: string; client: ApiClient }> = {},
) {
  users += 1;
  const client = options.client ?? apiClient();
  const username = options.username ?? `user_${Date.now().toString(36)}${users}`;
  const email = options.email ?? `${username}@example.com`;
  const password = options.password ?? "correct horse battery";
  const res = await client.call("POST", "/api/auth/registration/", {
    body: { username, email, password1: password, password2: password },
  });
  if (res.status !== 201) throw new Error(`registration failed: ${res.status} ${await res.text()}`);
  const { key, user } = (await res.json()) as KeyWithUser;
  return { ...user, user, key, auth: { authorization: `Token ${key}` }, password, client };
}
