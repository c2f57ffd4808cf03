/** The report phase on its own: a recording stand-in for the job API's events, and fake clocks. */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { JobEvent } from "../shared/protocol.ts";
import { JobFailure } from "./failure.ts";
import { JobApiError } from "./job-api.ts";
import { type CompletedEvent, createJobReporter } from "./report.ts";

/** Records every event posted; `hold` keeps the chosen ones in flight until `release()`. */
function recordingEvents(options: { hold?: (e: JobEvent) => boolean; refuse?: (e: JobEvent) => Error | null } = {}) {
  const posted: JobEvent[] = [];
  const delivered: JobEvent[] = [];
  const held: (() => void)[] = [];
  return {
    posted,
    delivered,
    release: () => {
      for (const go of held.splice(0)) go();
    },
    events: {
      async postEvent(event: JobEvent) {
        posted.push(event);
        if (options.hold?.(event)) await new Promise<void>((resolve) => held.push(resolve));
        const refusal = options.refuse?.(event) ?? null;
        if (refusal) throw refusal;
        delivered.push(event);
      },
    },
  };
}

function start(recorder: ReturnType<typeof recordingEvents>, signal = new AbortController().signal) {
  const logs: { msg: string; fields?: Record<string, unknown> }[] = [];
  const values: number[] = [];
  const reporter = createJobReporter(recorder.events, {
    intervalMs: 1000,
    signal,
    onProgress: (v) => values.push(v),
    log: (msg, fields) => logs.push({ msg, fields }),
  });
  return { reporter, logs, values };
}

const progress = (value: number, stage: string) => ({ type: "progress", progress: value, stage });

const completed: CompletedEvent = {
  type: "completed",
  duration: 10,
  width: 1280,
  height: 720,
  renditions: [{ id: "0", kind: "video", width: 1280, height: 720, bandwidth: 2_000_000, codecs: "avc1.64001f" }],
  files: ["init-0.m4s", "chunk-0-00001.m4s", "manifest.mpd"],
  poster: null,
};

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("progress", () => {
  it("sends at most one event per interval while encoding, never going back, never above 99", async () => {
    const recorder = recordingEvents();
    const { reporter, values } = start(recorder);
    reporter.progress(0, "probing");
    await vi.advanceTimersByTimeAsync(0);
    reporter.progress(12.7, "encoding");
    reporter.progress(8, "encoding");
    expect(recorder.posted).toEqual([progress(0, "probing")]);

    await vi.advanceTimersByTimeAsync(1000);
    expect(recorder.posted.at(-1)).toEqual(progress(12, "encoding"));
    // A new stage is worth telling at once.
    reporter.progress(250, "uploading");
    expect(recorder.posted.at(-1)).toEqual(progress(99, "uploading"));
    expect(values).toEqual([0, 12, 12, 99]);
    await reporter.stop();
  });

  it("keeps reporting while nothing moves: the heartbeat", async () => {
    const recorder = recordingEvents();
    const { reporter } = start(recorder);
    reporter.progress(30, "encoding");
    await vi.advanceTimersByTimeAsync(3500);
    expect(recorder.posted).toEqual([
      progress(30, "encoding"),
      progress(30, "encoding"),
      progress(30, "encoding"),
      progress(30, "encoding"),
    ]);
    await reporter.stop();
    await vi.advanceTimersByTimeAsync(5000);
    expect(recorder.posted).toHaveLength(4);
  });

  it("sends one event at a time, however slow the API is", async () => {
    const recorder = recordingEvents({ hold: () => true });
    const { reporter } = start(recorder);
    reporter.progress(0, "probing");
    reporter.progress(40, "uploading");
    await vi.advanceTimersByTimeAsync(3000);
    expect(recorder.posted).toEqual([progress(0, "probing")]);
    recorder.release();
    await vi.advanceTimersByTimeAsync(1000);
    expect(recorder.posted).toEqual([progress(0, "probing"), progress(40, "uploading")]);
    recorder.release();
    await reporter.stop();
  });

  it("logs an undelivered progress event and carries on", async () => {
    const recorder = recordingEvents({ refuse: (e) => (e.type === "progress" ? new Error("HTTP 500") : null) });
    const { reporter, logs } = start(recorder);
    reporter.progress(0, "probing");
    await vi.advanceTimersByTimeAsync(1000);
    expect(logs.filter((l) => l.msg === "progress event not delivered")).toHaveLength(2);
    await reporter.completed(completed);
    expect(recorder.delivered).toEqual([completed]);
  });
});

describe("the final event", () => {
  it("posts completed only once the progress event in flight has settled, and nothing after it", async () => {
    const recorder = recordingEvents({ hold: (e) => e.type === "progress" });
    const { reporter, logs } = start(recorder);
    reporter.progress(0, "probing");
    const done = reporter.completed(completed);
    await vi.advanceTimersByTimeAsync(0);
    expect(recorder.posted.map((e) => e.type)).toEqual(["progress"]);
    recorder.release();
    await done;
    expect(recorder.delivered.map((e) => e.type)).toEqual(["progress", "completed"]);
    reporter.progress(50, "uploading");
    await vi.advanceTimersByTimeAsync(5000);
    expect(recorder.posted.map((e) => e.type)).toEqual(["progress", "completed"]);
    expect(logs.at(-1)).toEqual({ msg: "job completed", fields: { files: 3, renditions: 1 } });
  });

  it("lets the caller know when the platform refuses completed", async () => {
    const refusal = new JobApiError("event completed: HTTP 409", 409, false);
    const recorder = recordingEvents({ refuse: (e) => (e.type === "completed" ? refusal : null) });
    const { reporter } = start(recorder);
    await expect(reporter.completed(completed)).rejects.toBe(refusal);
  });

  it("posts failed with a job failure's own code and message", async () => {
    const recorder = recordingEvents();
    const { reporter, logs } = start(recorder);
    const end = await reporter.failed(new JobFailure("too_long", "The video is 2 h 01 min long."));
    const error = { code: "too_long", message: "The video is 2 h 01 min long." };
    expect(end).toEqual({ state: "failed", error });
    expect(recorder.delivered).toEqual([{ type: "failed", ...error }]);
    expect(logs.at(-1)).toEqual({ msg: "job refused", fields: { code: "too_long", reason: error.message } });
  });

  it("gives any other error transcode_failed: the platform refusing results, or the transcoder itself", async () => {
    const recorder = recordingEvents();
    const { reporter, logs } = start(recorder);
    const refused = await reporter.failed(new JobApiError("PUT chunk-1-00001.m4s: HTTP 403", 403, false));
    expect(refused).toEqual({
      state: "failed",
      error: {
        code: "transcode_failed",
        message: "The platform did not accept the results (PUT chunk-1-00001.m4s: HTTP 403).",
      },
    });
    const crashed = await reporter.failed(new TypeError("cannot read properties of undefined"));
    expect(crashed).toEqual({
      state: "failed",
      error: { code: "transcode_failed", message: "The transcoder stopped unexpectedly." },
    });
    expect(logs.at(-1)?.msg).toBe("job failed");
    expect(String(logs.at(-1)?.fields?.error)).toMatch(/TypeError: cannot read properties of undefined/);
    expect(recorder.delivered.map((e) => e.type)).toEqual(["failed", "failed"]);
  });

  it("never throws when the failed event cannot be delivered", async () => {
    const recorder = recordingEvents({ refuse: () => new JobApiError("event failed: HTTP 401", 401, false) });
    const { reporter, logs } = start(recorder);
    const end = await reporter.failed(new JobFailure("not_video", "The file is empty."));
    expect(end).toMatchObject({ state: "failed", error: { code: "not_video" } });
    expect(logs.map((l) => l.msg)).toContain("failed event not delivered");
  });

  it("posts nothing final when the run was cancelled, and stops progress", async () => {
    const recorder = recordingEvents();
    const controller = new AbortController();
    const { reporter, logs } = start(recorder, controller.signal);
    reporter.progress(10, "encoding");
    await vi.advanceTimersByTimeAsync(0);
    controller.abort(new Error("shutting down"));
    const end = await reporter.failed(new Error("ffmpeg was stopped"));
    expect(end).toEqual({ state: "cancelled" });
    await vi.advanceTimersByTimeAsync(5000);
    expect(recorder.posted).toEqual([progress(10, "encoding")]);
    expect(logs.at(-1)?.msg).toBe("job cancelled; it will be retried elsewhere");
  });
});
