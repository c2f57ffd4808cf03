/**
 * Helpers for Worker tests: calls through the real app (`exports.default.fetch`), each test client
 * with its own client address so anonymous calls of one test never use up another's daily limit.
 * Only test files import this module.
 */

import { exports } from "cloudflare:workers";
import type { z } from "@hono/zod-openapi";
import type { ErrorEnvelope } from "../app/errors";
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

export function apiClient(ip: string = uniqueIp()) {
  const call = (method: string, path: string, options: CallOptions = {}) => {
    const headers: Record<string, string> = { "CF-Connecting-IP": ip, ...options.headers };
    if (options.key !== undefined) headers.Authorization = `${options.scheme ?? "Token"} ${options.key}`;
    const body = options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
    if (body !== undefined) headers["Content-Type"] = "application/json";
    return exports.default.fetch(new Request(`http://example.com${path}`, { method, headers, body }));
  };
  return { ip, call };
}

export type ApiClient = ReturnType<typeof apiClient>;

let users = 0;

/** Signs a new user up through the API; returns the key, the user and the password. */
export async function registerUser(
  client: ApiClient = apiClient(),
  overrides: Partial<{ username: string; email: string; password: string }> = {},
) {
  users += 1;
  const tag = `${Date.now().toString(36)}${users}`;
  const username = overrides.username ?? `user_${tag}`;
  const email = overrides.email ?? `${username}@example.com`;
  const password = overrides.password ?? "correct horse battery";
  const res = await client.call("POST", "/api/auth/registration/", {
    body: { username, email, password1: password, password2: password },
  });
  if (res.status !== 201) throw new Error(`registration failed: ${res.status} ${await res.text()}`);
  const body = (await res.json()) as KeyWithUser;
  return { ...body, password, client };
}
