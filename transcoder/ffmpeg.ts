/**
 * The one place that talks to ffmpeg and ffprobe (through fluent-ffmpeg). Arguments are always
 * arrays handed to the process as they are, never a shell string. FFMPEG_PATH and FFPROBE_PATH
 * choose the binaries (fluent-ffmpeg reads them); the default is whatever is on the PATH.
 */
import { type ChildProcess, spawn } from "node:child_process";
import ffmpeg from "fluent-ffmpeg";
import type { ProbedMedia } from "./source.ts";

/** One ffmpeg run: global options, an input (and maybe more), one filter graph, any number of outputs. */
export interface FfmpegCommandSpec {
  global: string[];
  input: { source: string; options: string[] };
  /** Inputs 1, 2, …, each with its own options (the same file read again, e.g. for another stream). */
  moreInputs?: { source: string; options: string[] }[];
  filterGraph: string;
  outputs: { target: string; options: string[] }[];
}

/** The exact argument list ffmpeg is started with for a spec (after the program name). */
export function commandLine(spec: FfmpegCommandSpec): string[] {
  return [
    ...spec.global,
    ...spec.input.options,
    "-i",
    spec.input.source,
    ...(spec.moreInputs ?? []).flatMap((i) => [...i.options, "-i", i.source]),
    "-y",
    "-filter_complex",
    spec.filterGraph,
    ...spec.outputs.flatMap((o) => [...o.options, o.target]),
  ];
}

export class FfmpegError extends Error {
  /** The tail of ffmpeg's own error output. */
  readonly stderr: string;
  constructor(message: string, stderr: string) {
    super(message);
    this.name = "FfmpegError";
    this.stderr = stderr;
  }
}

/**
 * fluent-ffmpeg splits a lone option containing exactly one space into two arguments; passing the
 * options as separate arguments turns that off, and a single option never has a space here.
 */
function checkedOptions(options: string[]): string[] {
  if (options.length === 1 && options[0]?.includes(" "))
    throw new Error(`ambiguous lone ffmpeg option "${options[0]}"`);
  return options;
}

/** ffprobe's view of a source (streams and format), or an {@link FfmpegError} with its stderr. */
export function probeMedia(source: string, inputOptions: string[], signal?: AbortSignal): Promise<ProbedMedia> {
  return new Promise<ProbedMedia>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    // fluent-ffmpeg does not hand out the ffprobe process; it reads only the container's header
    // and gives up on a stalled connection (-rw_timeout), so an abort just stops waiting for it.
    const onAbort = () => reject(signal?.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    ffmpeg.ffprobe(source, ["-hide_banner", "-v", "error", ...inputOptions], (err: unknown, data) => {
      signal?.removeEventListener("abort", onAbort);
      if (err) {
        const message = err instanceof Error ? err.message : String(err);
        const newline = message.indexOf("\n");
        return reject(
          new FfmpegError(
            newline >= 0 ? message.slice(0, newline) : message,
            newline >= 0 ? message.slice(newline + 1) : "",
          ),
        );
      }
      resolve(data as unknown as ProbedMedia);
    });
  });
}

export interface FfmpegRunOptions {
  /** Called once the process runs, with its pid and the argument list. */
  onStart?: (pid: number | undefined, args: string[]) => void;
  /** One block of `-progress` output (`out_time_us`, `speed`, `progress`, …). */
  onProgress?: (fields: Record<string, string>) => void;
  /** After SIGTERM, how long ffmpeg may take to exit before SIGKILL. */
  killGraceMs?: number;
}

export interface RunningFfmpeg {
  /** Settles when ffmpeg has exited: resolves on success, rejects with an {@link FfmpegError}. */
  done: Promise<void>;
  /** Suspends ffmpeg (SIGSTOP), e.g. while uploads catch up. */
  pause(): void;
  resume(): void;
  /** SIGTERM, then SIGKILL after the grace period; resolves once the process is gone. */
  stop(): Promise<void>;
}

/**
 * Starts ffmpeg for a spec. Add `-progress pipe:1` to the global options to get `onProgress`.
 */
export function startFfmpeg(spec: FfmpegCommandSpec, options: FfmpegRunOptions = {}): RunningFfmpeg {
  const command = ffmpeg({ stdoutLines: 20 })
    .input(spec.input.source)
    .inputOptions(...checkedOptions([...spec.global, ...spec.input.options]));
  for (const more of spec.moreInputs ?? []) {
    command.input(more.source);
    if (more.options.length > 0) command.inputOptions(...checkedOptions(more.options));
  }
  command.complexFilter(spec.filterGraph);
  for (const output of spec.outputs) command.output(output.target).outputOptions(...checkedOptions(output.options));

  let child: ChildProcess | undefined;
  let exited = false;
  let stopRequested = false;
  let paused = false;
  const signal = (name: NodeJS.Signals) => {
    if (child && !exited) child.kill(name);
  };
  let killTimer: NodeJS.Timeout | undefined;
  const terminate = () => {
    if (paused) signal("SIGCONT");
    signal("SIGTERM");
    killTimer = setTimeout(() => signal("SIGKILL"), options.killGraceMs ?? 5000);
  };

  const done = new Promise<void>((resolve, reject) => {
    command.on("start", () => {
      // fluent-ffmpeg keeps the child process on the command once it has spawned it.
      child = (command as unknown as { ffmpegProc?: ChildProcess }).ffmpegProc;
      child?.once("exit", () => {
        exited = true;
        clearTimeout(killTimer);
      });
      options.onStart?.(child?.pid, commandLine(spec));
      if (options.onProgress && child?.stdout) {
        let buffered = "";
        let block: Record<string, string> = {};
        child.stdout.setEncoding("utf8");
        child.stdout.on("data", (chunk: string) => {
          buffered += chunk;
          let newline = buffered.indexOf("\n");
          while (newline >= 0) {
            const line = buffered.slice(0, newline).trim();
            buffered = buffered.slice(newline + 1);
            const eq = line.indexOf("=");
            if (eq > 0) {
              const key = line.slice(0, eq);
              block[key] = line.slice(eq + 1);
              if (key === "progress") {
                options.onProgress?.(block);
                block = {};
              }
            }
            newline = buffered.indexOf("\n");
          }
        });
      }
      if (stopRequested) terminate();
    });
    command.on("end", () => resolve());
    command.on("error", (err: Error, _stdout: string | null, stderr: string | null) => {
      reject(new FfmpegError(err.message, stderr ?? ""));
    });
  });
  // A stop before the process has even spawned must not leave an unhandled rejection behind.
  done.catch(() => {});
  command.run();

  return {
    done,
    pause() {
      if (!paused) {
        paused = true;
        signal("SIGSTOP");
      }
    },
    resume() {
      if (paused) {
        paused = false;
        signal("SIGCONT");
      }
    },
    async stop() {
      stopRequested = true;
      if (child && !exited) terminate();
      await done.catch(() => {});
    },
  };
}

/**
 * Runs ffmpeg with exactly these arguments (for commands outside the one-input, one-graph shape
 * of {@link FfmpegCommandSpec}, like the downloads' stream copy of two inputs). Resolves when it
 * succeeded, rejects with an {@link FfmpegError} carrying the tail of its stderr; an abort kills it.
 */
export function runFfmpegArgs(args: string[], signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const child = spawn(process.env.FFMPEG_PATH || "ffmpeg", args, { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr?.setEncoding("utf8");
    child.stderr?.on("data", (chunk: string) => {
      stderr = (stderr + chunk).slice(-8192);
    });
    const onAbort = () => child.kill("SIGKILL");
    signal?.addEventListener("abort", onAbort, { once: true });
    child.once("error", (err) => {
      signal?.removeEventListener("abort", onAbort);
      reject(new FfmpegError(err.message, stderr));
    });
    child.once("close", (code, killedBy) => {
      signal?.removeEventListener("abort", onAbort);
      if (signal?.aborted) reject(signal.reason);
      else if (code === 0) resolve();
      else reject(new FfmpegError(`ffmpeg exited with ${code ?? killedBy}`, stderr));
    });
  });
}
