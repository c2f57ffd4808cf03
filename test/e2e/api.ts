/** Small helpers for end-to-end tests that talk to the platform's API. */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import type { Account } from "../support/platform.ts";

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
  dash_url: string | null;
  hls_url: string | null;
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

/** Every stored object of a video (admin endpoint), to check that nothing is left behind. */
export async function storedObjects(api: string, admin: Account, videoId: string): Promise<string[]> {
  const res = await fetch(`${api}/api/admin/videos/${videoId}/storage/`, { headers: admin.auth });
  if (!res.ok) throw new Error(`storage listing: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { objects: { key: string }[] }).objects.map((o) => o.key);
}
