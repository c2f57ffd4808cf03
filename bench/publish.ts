/**
 * Publishes a video on a running app without FFmpeg, for benchmarks that only need something to
 * serve: a stand-in runner claims the unit with a runner token, stores the given files and
 * reports completion through the unit's API, exactly as a real runner does.
 */
import type { ClaimAnswer, UnitAssignment } from "../shared/protocol.ts";

/** A runner token for `npm start`-like apps: pass it to the Worker as LOCAL_RUNNER_TOKEN. */
export const benchRunnerToken = () => `bench-runner-${crypto.randomUUID()}`;

/** Long-polls the app until a unit is claimed, or `timeoutMs` passes. */
export async function claimUnit(apiUrl: string, runnerToken: string, timeoutMs = 30_000): Promise<UnitAssignment> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const res = await fetch(`${apiUrl}/internal/runners/claim`, {
      method: "POST",
      headers: { authorization: `Bearer ${runnerToken}`, "content-type": "application/json" },
      body: JSON.stringify({ wait_seconds: 5, running: [], capacity: 1 }),
    });
    if (res.status === 200) return ((await res.json()) as ClaimAnswer).unit;
    if (res.status !== 204) throw new Error(`claim: ${res.status} ${await res.text()}`);
  }
  throw new Error("no unit became claimable");
}

export async function completeUnit(unit: UnitAssignment, files: Record<string, Uint8Array | string>) {
  const auth = { authorization: `Bearer ${unit.token}` };
  for (const [name, body] of Object.entries(files)) {
    const bytes = typeof body === "string" ? body : new Blob([body as Uint8Array<ArrayBuffer>]);
    const res = await fetch(`${unit.apiBase}/files/${name}`, { method: "PUT", headers: auth, body: bytes });
    if (res.status !== 201) throw new Error(`PUT ${name}: ${res.status} ${await res.text()}`);
  }
  const res = await fetch(`${unit.apiBase}/events`, {
    method: "POST",
    headers: { ...auth, "content-type": "application/json" },
    body: JSON.stringify({
      type: "completed",
      duration: 4,
      width: 1280,
      height: 720,
      renditions: [{ id: "0", kind: "video", width: 1280, height: 720, bandwidth: 3_000_000, codecs: "avc1.640020" }],
      files: Object.keys(files),
      poster: null,
    }),
  });
  if (!res.ok) throw new Error(`completed event: ${res.status} ${await res.text()}`);
}
