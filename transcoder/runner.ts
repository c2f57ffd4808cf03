/**
 * The runner: claims work units from the Worker and works on them, so it needs no inbound port
 * and runs wherever it reaches the Worker (docs/runner-protocol.md, "What a runner must do").
 *
 * - One claim in flight at a time (`POST <apiBase>/internal/runners/claim`, a long poll of up to
 *   25 s), reporting every unit it holds in `running` and its `capacity`; none while it is at
 *   capacity. A 204 is answered by the next claim at once, so a runner that finishes a unit while
 *   others wait asks for the next one immediately.
 * - A unit stops at once when any of its own calls is answered 401 or 410 (its lease ran out, it
 *   was claimed again, its video was deleted, its runner revoked): its signal aborts, which stops
 *   ffmpeg and sends nothing more for it.
 * - An unreachable Worker (restarted, network down), 5xx and 429 answers are retried with
 *   exponential back-off; the runner carries on once the Worker answers again.
 * - A 401 to a claim (the token is unknown or was revoked) ends the runner: `done` resolves
 *   `refused`, after its units have been stopped.
 * - `stop()` (SIGTERM) stops claiming and abandons its units: ffmpeg is stopped and no final event
 *   is sent. The Worker gives each back as pending when the lease runs out, or at once when this
 *   runner (the same token) claims again and does not list it in `running`.
 *
 * Each unit's start and end is logged as one JSON line (`unit started`, `unit finished`) with
 * its ids, so the time between units can be read from the log.
 */
import {
  CLAIM_WAIT_MAX_SECONDS,
  ClaimAnswerSchema,
  type ClaimRequest,
  type RunnerJobState,
  type UnitAssignment,
} from "../shared/protocol.ts";

export type Log = (msg: string, fields?: Record<string, unknown>) => void;

/** What a unit's work gets besides its assignment. */
export interface UnitContext {
  /** Aborts when the unit must stop: the runner stops, or the platform answered 401 or 410. */
  signal: AbortSignal;
  /** `fetch` for the unit's own API; a 401 or 410 answer aborts `signal` before it is returned. */
  fetch: typeof fetch;
  onStatus: (update: Partial<Omit<RunnerJobState, "jobId">>) => void;
}

/** Works one unit to its end (reporting to the unit's API itself); must settle soon after `signal` aborts. */
export type UnitWork = (unit: UnitAssignment, ctx: UnitContext) => Promise<void>;

/** How a unit ended for this runner. `stopped`: by the platform (401/410) or by the runner stopping. */
export type UnitOutcome = "completed" | "failed" | "stopped" | "crashed";

export interface RunnerOptions {
  /** The Worker's base URL (RUNNER_API_BASE). */
  apiBase: string;
  /** The runner token (RUNNER_TOKEN). */
  token: string;
  /** Units worked on at once. */
  capacity: number;
  work: UnitWork;
  log: Log;
  fetch?: typeof fetch;
  /** How long a claim waits for work (default and at most {@link CLAIM_WAIT_MAX_SECONDS}). */
  waitSeconds?: number;
  /** Back-off after a failed claim: `baseMs`, doubling to `maxMs`, with ±25% jitter. */
  backoff?: { baseMs: number; maxMs: number };
}

export const DEFAULT_BACKOFF = { baseMs: 500, maxMs: 15_000 };

/** A claim with no answer this long after its wait is over counts as lost (a hung connection). */
const CLAIM_GRACE_MS = 15_000;

export interface UnitStatus {
  unitId: string;
  jobId: string;
  videoId: string;
  kind: UnitAssignment["kind"];
  attempt: number;
  state: RunnerJobState["state"];
  progress: number;
  error: RunnerJobState["error"];
  startedAt: string;
}

export interface RunnerStatus {
  /**
   * `claiming`: a claim is waiting for work; `busy`: at capacity; `backing_off`: the last claim
   * failed (the Worker unreachable or erring) and the next waits; `refused`: the token was
   * refused; `stopping`, `stopped`.
   */
  state: "starting" | "claiming" | "busy" | "backing_off" | "refused" | "stopping" | "stopped";
  capacity: number;
  running: UnitStatus[];
  /** Units claimed, and how they ended, since the runner started. */
  units: { started: number } & Record<UnitOutcome, number>;
  /** The last time the Worker answered a claim. */
  lastContactAt: string | null;
  /** Why the last claim failed, while it is backing off. */
  lastError: string | null;
}

export interface Runner {
  status(): RunnerStatus;
  /** Stops claiming and stops every unit; resolves once they have all ended. */
  stop(): Promise<void>;
  /** Settles when the runner is over: `stopped` after {@link Runner.stop}, `refused` when its token was refused. */
  done: Promise<"stopped" | "refused">;
}

interface ActiveUnit {
  unit: UnitAssignment;
  status: UnitStatus;
  controller: AbortController;
  /** The status that stopped it (401 or 410), if the platform did. */
  stoppedBy: number | null;
  finished: Promise<void>;
}

/** The Worker refused the runner token (401): unknown, or revoked by an admin. */
class RefusedError extends Error {
  override name = "RefusedError";
}

/** A claim that got no usable answer: retried after a back-off. */
class ClaimError extends Error {
  override name = "ClaimError";
  readonly retryAfterMs: number | null;
  constructor(message: string, retryAfterMs: number | null = null) {
    super(message);
    this.retryAfterMs = retryAfterMs;
  }
}

/**
 * Resolves when `until` calls back, after `ms` (when given), or when `signal` aborts, whichever
 * is first; never rejects, and leaves no listener behind.
 */
const waitFor = (signal: AbortSignal, ms: number | null, until?: (wake: () => void) => void) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      if (timer) clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = ms === null ? null : setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    until?.(done);
  });

const retryAfterMs = (res: Response): number | null => {
  const seconds = Number(res.headers.get("retry-after"));
  return Number.isFinite(seconds) && seconds > 0 ? Math.min(seconds, 300) * 1000 : null;
};

export function startRunner(options: RunnerOptions): Runner {
  const doFetch = options.fetch ?? fetch;
  const { log, capacity } = options;
  const waitSeconds = Math.min(CLAIM_WAIT_MAX_SECONDS, Math.max(0, options.waitSeconds ?? CLAIM_WAIT_MAX_SECONDS));
  const backoff = options.backoff ?? DEFAULT_BACKOFF;
  const claimUrl = `${options.apiBase.replace(/\/+$/, "")}/internal/runners/claim`;
  const authorization = `Bearer ${options.token}`;

  const active = new Map<string, ActiveUnit>();
  const counts = { started: 0, completed: 0, failed: 0, stopped: 0, crashed: 0 };
  let state: RunnerStatus["state"] = "starting";
  let lastContactAt: Date | null = null;
  let lastError: string | null = null;
  /** Aborts the claim in flight and any back-off when the runner stops. */
  const stopping = new AbortController();
  /** Resolves the loop's wait while it is at capacity. */
  let slotFreed: (() => void) | null = null;

  const claim = async (): Promise<UnitAssignment | null> => {
    const body: ClaimRequest = { wait_seconds: waitSeconds, running: [...active.keys()], capacity };
    // Aborted when the runner stops or the answer is overdue; linked by hand so that no listener
    // outlives the claim.
    const request = new AbortController();
    let overdue = false;
    const timer = setTimeout(
      () => {
        overdue = true;
        request.abort();
      },
      waitSeconds * 1000 + CLAIM_GRACE_MS,
    );
    const onStop = () => request.abort();
    stopping.signal.addEventListener("abort", onStop, { once: true });
    let res: Response;
    let text: string;
    try {
      res = await doFetch(claimUrl, {
        method: "POST",
        headers: { authorization, "content-type": "application/json" },
        body: JSON.stringify(body),
        signal: request.signal,
      });
      text = await res.text();
    } catch (err) {
      if (stopping.signal.aborted) return null;
      const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : "";
      throw new ClaimError(
        overdue
          ? `no answer within ${waitSeconds + CLAIM_GRACE_MS / 1000} s`
          : `${err instanceof Error ? err.message : String(err)}${cause}`,
      );
    } finally {
      clearTimeout(timer);
      stopping.signal.removeEventListener("abort", onStop);
    }
    if (res.status === 401) throw new RefusedError(text);
    if (res.status === 204) return null;
    if (res.status !== 200) throw new ClaimError(`HTTP ${res.status} ${text.slice(0, 200)}`.trim(), retryAfterMs(res));
    let parsed: ReturnType<typeof ClaimAnswerSchema.safeParse>;
    try {
      parsed = ClaimAnswerSchema.safeParse(JSON.parse(text));
    } catch {
      throw new ClaimError("the claim's answer is not JSON");
    }
    // A unit this runner cannot read is not listed in its next claim, so the Worker takes it back.
    if (!parsed.success) throw new ClaimError(`the claim's answer does not fit the protocol: ${parsed.error.message}`);
    return parsed.data.unit;
  };

  const startUnit = (unit: UnitAssignment, claimMs: number) => {
    const controller = new AbortController();
    const status: UnitStatus = {
      unitId: unit.unitId,
      jobId: unit.jobId,
      videoId: unit.videoId,
      kind: unit.kind,
      attempt: unit.attempt,
      state: "accepted",
      progress: 0,
      error: null,
      startedAt: new Date().toISOString(),
    };
    const entry: ActiveUnit = { unit, status, controller, stoppedBy: null, finished: Promise.resolve() };
    const ids = { unitId: unit.unitId, jobId: unit.jobId, videoId: unit.videoId, attempt: unit.attempt };
    const unitFetch: typeof fetch = async (input, init) => {
      const res = await doFetch(input, init);
      if ((res.status === 401 || res.status === 410) && !controller.signal.aborted) {
        entry.stoppedBy = res.status;
        log("unit stopped by the platform", { ...ids, status: res.status });
        controller.abort(new Error(`the platform answered ${res.status}: this attempt is over`));
      }
      return res;
    };
    counts.started++;
    active.set(unit.unitId, entry);
    log("unit started", { ...ids, kind: unit.kind, claimMs: Math.round(claimMs) });
    const t0 = performance.now();
    entry.finished = options
      .work(unit, { signal: controller.signal, fetch: unitFetch, onStatus: (update) => Object.assign(status, update) })
      .then(
        (): UnitOutcome =>
          status.state === "completed" ? "completed" : status.state === "failed" ? "failed" : "stopped",
        (err: unknown): UnitOutcome => {
          log("unit crashed", { ...ids, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
          return "crashed";
        },
      )
      .then((outcome) => {
        counts[outcome]++;
        active.delete(unit.unitId);
        log("unit finished", {
          ...ids,
          outcome,
          ...(entry.stoppedBy !== null ? { stoppedBy: entry.stoppedBy } : {}),
          ...(status.error ? { error: status.error } : {}),
          seconds: Math.round(performance.now() - t0) / 1000,
        });
        slotFreed?.();
      });
  };

  const stopUnits = async () => {
    for (const { controller } of active.values()) controller.abort(new Error("the runner is stopping"));
    await Promise.all([...active.values()].map((u) => u.finished));
  };

  const loop = async (): Promise<"stopped" | "refused"> => {
    let failures = 0;
    while (!stopping.signal.aborted) {
      if (active.size >= capacity) {
        state = "busy";
        await waitFor(stopping.signal, null, (wake) => {
          slotFreed = wake;
        });
        slotFreed = null;
        continue;
      }
      state = "claiming";
      const t0 = performance.now();
      try {
        const unit = await claim();
        if (stopping.signal.aborted) break;
        lastContactAt = new Date();
        if (failures > 0) log("worker reachable again", { after: failures });
        failures = 0;
        lastError = null;
        if (!unit) continue;
        if (active.has(unit.unitId)) {
          log("claim answered with a unit already running; ignored", { unitId: unit.unitId });
          continue;
        }
        startUnit(unit, performance.now() - t0);
      } catch (err) {
        if (err instanceof RefusedError) {
          state = "refused";
          log("runner token refused; stopping", { answer: err.message.slice(0, 300) });
          await stopUnits();
          return "refused";
        }
        failures++;
        lastError = err instanceof Error ? err.message : String(err);
        const computed = Math.min(backoff.maxMs, backoff.baseMs * 2 ** (failures - 1)) * (0.75 + Math.random() * 0.5);
        const delayMs = Math.round((err instanceof ClaimError && err.retryAfterMs) || computed);
        state = "backing_off";
        log("claim failed; retrying", { error: lastError, attempt: failures, retryInMs: delayMs });
        await waitFor(stopping.signal, delayMs);
      }
    }
    return "stopped";
  };

  let finished: Promise<void> | null = null;
  const done = loop();
  const stop = () => {
    finished ??= (async () => {
      state = "stopping";
      stopping.abort();
      await done;
      await stopUnits();
      state = "stopped";
    })();
    return finished;
  };
  void done.then((end) => {
    if (end === "refused") state = "refused";
  });

  return {
    status: () => ({
      state,
      capacity,
      running: [...active.values()].map((u) => ({ ...u.status })),
      units: { ...counts },
      lastContactAt: lastContactAt?.toISOString() ?? null,
      lastError,
    }),
    stop,
    done: done.then(async (end) => {
      if (end === "stopped") await finished;
      return end;
    }),
  };
}
