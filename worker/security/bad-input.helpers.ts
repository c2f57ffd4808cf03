/**
 * Shared by the bad-input suites: the error-envelope check every refusal must pass, a snapshot of
 * everything stored (every D1 table's row count and every R2 key) to prove a refusal kept nothing,
 * and the health check each suite ends with.
 */
import { env, exports } from "cloudflare:workers";
import { expect } from "vitest";
import { type Envelope, uniqueIp } from "../testing/api";

const ERROR_KEYS = new Set(["code", "message", "details", "requestId"]);

/**
 * Asserts `res` is a refusal with exactly `status`, a JSON body in the error envelope whose
 * `requestId` is the answer's `X-Request-Id`, and (when given) `code`. Returns the error.
 */
export async function expectRefusal(res: Response, status: number, code?: string): Promise<Envelope["error"]> {
  const text = await res.text();
  expect(res.status, `status for a body of ${text.slice(0, 300)}`).toBe(status);
  expect(res.headers.get("content-type") ?? "").toMatch(/^application\/json\b/);
  const body = JSON.parse(text) as Envelope;
  expect(Object.keys(body)).toEqual(["error"]);
  const { error } = body;
  for (const key of Object.keys(error)) expect(ERROR_KEYS.has(key), `unexpected envelope key ${key}`).toBe(true);
  expect(typeof error.code).toBe("string");
  if (code) expect(error.code).toBe(code);
  expect(typeof error.message).toBe("string");
  expect(error.message.length).toBeGreaterThan(0);
  expect(error.requestId).toBe(res.headers.get("x-request-id"));
  expect(error.requestId.length).toBeGreaterThan(0);
  return error;
}

/** A request through the Worker's entry, sent exactly as given (no headers added), from a fresh client address. */
export function rawCall(
  method: string,
  path: string,
  init: { headers?: Record<string, string>; body?: BodyInit } = {},
) {
  const headers = { "CF-Connecting-IP": uniqueIp(), ...init.headers };
  return exports.default.fetch(new Request(`http://example.com${path}`, { method, headers, body: init.body }));
}

/** Every row count of every application table and every object key in the bucket. */
export async function storedState() {
  const { results: tables } = await env.DB.prepare(
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' AND name != 'd1_migrations' ORDER BY name",
  ).all<{ name: string }>();
  const rows: Record<string, number> = {};
  for (const { name } of tables) {
    const row = await env.DB.prepare(`SELECT count(*) AS n FROM "${name}"`).first<{ n: number }>();
    rows[name] = row?.n ?? 0;
  }
  const objects: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await env.MEDIA.list({ cursor, limit: 1000 });
    objects.push(...page.objects.map((o) => o.key));
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return { rows, objects: objects.sort() };
}

/** Runs `refusals` and asserts that nothing was added to or removed from D1 or R2 meanwhile. */
export async function expectNothingStored(refusals: () => Promise<void>) {
  const before = await storedState();
  await refusals();
  expect(await storedState()).toEqual(before);
}

/** After the hostile requests: liveness answers, and a key issued before them still works. */
export async function expectHealthy(authorization: string) {
  const health = await exports.default.fetch(new Request("http://example.com/healthz"));
  expect(health.status).toBe(200);
  expect(await health.json()).toEqual({ ok: true });
  const me = await exports.default.fetch(
    new Request("http://example.com/api/auth/user/", { headers: { authorization } }),
  );
  expect(me.status).toBe(200);
  expect(((await me.json()) as { id?: string }).id).toEqual(expect.any(String));
  const list = await exports.default.fetch(
    new Request("http://example.com/api/videos/", { headers: { authorization } }),
  );
  expect(list.status).toBe(200);
}
