/** Small helpers for end-to-end tests that talk to the platform's API (uploads: test/support/videos.ts). */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { type Account, logIn, signUp } from "../support/platform.ts";

export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

export async function sha256Response(res: Response): Promise<string> {
  const hash = createHash("sha256");
  const reader = res.body?.getReader();
  if (!reader) return hash.digest("hex");
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    hash.update(value);
  }
  return hash.digest("hex");
}

export interface VideoState {
  id: string;
  status: string;
  progress: number;
  error: { code: string; message: string } | null;
  renditions: { height: number; width: number }[];
  queue_position?: number | null;
  dash_url: string | null;
  hls_url: string | null;
  playable?: boolean;
}

export async function getVideo(api: string, account: Account, id: string): Promise<VideoState> {
  const res = await fetch(`${api}/api/videos/${id}/`, { headers: account.auth });
  if (!res.ok) throw new Error(`GET video ${id}: ${res.status}`);
  return (await res.json()) as VideoState;
}

/** Polls the video until `done` says so; returns every state seen, last one last. */
export async function waitForVideo(
  api: string,
  account: Account,
  id: string,
  done: (v: VideoState) => boolean,
  timeoutMs = 240_000,
): Promise<VideoState[]> {
  const seen: VideoState[] = [];
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const v = await getVideo(api, account, id);
    seen.push(v);
    if (done(v)) return seen;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`video ${id} did not finish in time; last state ${JSON.stringify(seen.at(-1))}`);
}

/** Polls the video until it is ready or failed; resolves with that state. */
export async function settledVideo(api: string, account: Account, id: string, timeoutMs = 240_000) {
  const states = await waitForVideo(api, account, id, (v) => v.status === "ready" || v.status === "failed", timeoutMs);
  return states.at(-1) as VideoState;
}

/** Every stored object of a video (admin endpoint), to check that nothing is left behind. */
export async function storedObjects(api: string, admin: Account, videoId: string): Promise<string[]> {
  const res = await fetch(`${api}/api/admin/videos/${videoId}/storage/`, { headers: admin.auth });
  if (!res.ok) throw new Error(`storage listing: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { objects: { key: string }[] }).objects.map((o) => o.key);
}

export interface RunnerListing {
  id: string;
  name: string;
  kind: string;
  revoked_at: string | null;
  current_unit: { id: string; video_id: string; attempt: number } | null;
  units_running: number;
  units_done: number;
  units_failed: number;
}

/** Every runner as the admin API lists it. */
export async function listRunners(api: string, admin: Account): Promise<RunnerListing[]> {
  const res = await fetch(`${api}/api/admin/runners/`, { headers: admin.auth });
  if (!res.ok) throw new Error(`runner listing: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { results: RunnerListing[] }).results;
}

/** The platform's admin account (`e2eadmin`, an admin by ADMIN_USERNAMES): signed up once, then logged in. */
export async function adminAccount(api: string): Promise<Account> {
  return (await signUp(api, "e2eadmin").catch(() => null)) ?? (await logIn(api, "e2eadmin"));
}

/** Polls `read` until it gives something other than undefined; fails naming `what` after `timeoutMs`. */
export async function until<T>(
  read: () => T | undefined | Promise<T | undefined>,
  what: string,
  timeoutMs = 120_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
