/**
 * The runner's settings, read from the environment once by `main.ts` and passed down: how it
 * encodes (every one has a default that works locally and in the container), and where it claims
 * work with which token (set by `npm start`, the platform, or whoever starts a remote runner).
 */
import { tmpdir } from "node:os";
import { RUNNER_TOKEN_PATTERN } from "../shared/protocol.ts";

/** A setting the runner cannot start with; main.ts prints it and exits with {@link EXIT_CONFIG}. */
export class SettingsError extends Error {
  override name = "SettingsError";
}

/** Exit status of a runner that cannot work as configured: bad settings, or a refused token (sysexits' EX_CONFIG). */
export const EXIT_CONFIG = 78;

export interface TranscoderSettings {
  /** x264 preset for every rung (TRANSCODER_X264_PRESET). Slower presets: smaller files, more CPU. */
  x264Preset: string;
  /** Where each job gets its scratch directory (TRANSCODER_WORK_DIR; default the OS temp dir). */
  workDir: string;
  /**
   * Finished files waiting for upload may take this much disk (TRANSCODER_MAX_PENDING_MB); beyond
   * it ffmpeg is paused until uploads catch up, so disk use stays bounded when the network is slow.
   */
  maxPendingBytes: number;
  /** Output files uploaded at once (TRANSCODER_UPLOAD_CONCURRENCY). */
  uploadConcurrency: number;
}

export const X264_PRESETS = [
  "ultrafast",
  "superfast",
  "veryfast",
  "faster",
  "fast",
  "medium",
  "slow",
  "slower",
  "veryslow",
] as const;

const positiveInt = (value: string | undefined, fallback: number, name: string): number => {
  if (value === undefined || value === "") return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new SettingsError(`${name} must be a positive integer, got "${value}"`);
  return n;
};

export function settingsFromEnv(env: Record<string, string | undefined>): TranscoderSettings {
  const preset = env.TRANSCODER_X264_PRESET || "veryfast";
  if (!(X264_PRESETS as readonly string[]).includes(preset)) {
    throw new SettingsError(`TRANSCODER_X264_PRESET must be one of ${X264_PRESETS.join(", ")}, got "${preset}"`);
  }
  return {
    x264Preset: preset,
    workDir: env.TRANSCODER_WORK_DIR || tmpdir(),
    maxPendingBytes: positiveInt(env.TRANSCODER_MAX_PENDING_MB, 1024, "TRANSCODER_MAX_PENDING_MB") * 1024 * 1024,
    uploadConcurrency: positiveInt(env.TRANSCODER_UPLOAD_CONCURRENCY, 3, "TRANSCODER_UPLOAD_CONCURRENCY"),
  };
}

/** Units one runner works on at once, at most (the claim's `capacity`). */
export const MAX_RUNNER_CONCURRENCY = 64;

export interface RunnerSettings {
  /**
   * Where the Worker is (RUNNER_API_BASE): its origin, e.g. `https://video.example.com`; claims go
   * to `<apiBase>/internal/runners/claim`.
   */
  apiBase: string;
  /** The runner token (RUNNER_TOKEN): admin-issued, or handed over by `npm start` or the platform. */
  token: string;
  /** Units worked on at once (RUNNER_CONCURRENCY). */
  concurrency: number;
  /** Its name in its own logs (RUNNER_ID; the platform sets it for containers). */
  name: string | null;
  /** Where `GET /healthz` listens (HOST, PORT; port 0 takes any free port). */
  host: string;
  port: number;
}

export function runnerSettingsFromEnv(env: Record<string, string | undefined>): RunnerSettings {
  const base = env.RUNNER_API_BASE?.trim() ?? "";
  if (base === "") {
    throw new SettingsError(
      "RUNNER_API_BASE is required: the Worker's address, e.g. https://video.example.com (npm start sets it)",
    );
  }
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    throw new SettingsError(`RUNNER_API_BASE must be an http(s) URL, got "${base}"`);
  }
  if ((url.protocol !== "http:" && url.protocol !== "https:") || url.search !== "" || url.hash !== "") {
    throw new SettingsError(`RUNNER_API_BASE must be an http(s) URL without query or fragment, got "${base}"`);
  }
  const token = env.RUNNER_TOKEN?.trim() ?? "";
  if (!RUNNER_TOKEN_PATTERN.test(token)) {
    throw new SettingsError(
      token === ""
        ? "RUNNER_TOKEN is required: a runner token from an admin (POST /api/admin/runners/)"
        : "RUNNER_TOKEN is not a runner token (32–256 letters, digits, '_', '.' or '-')",
    );
  }
  const concurrency = positiveInt(env.RUNNER_CONCURRENCY, 1, "RUNNER_CONCURRENCY");
  if (concurrency > MAX_RUNNER_CONCURRENCY) {
    throw new SettingsError(`RUNNER_CONCURRENCY is at most ${MAX_RUNNER_CONCURRENCY}, got ${concurrency}`);
  }
  const port = Number(env.PORT ?? 8788);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new SettingsError(`PORT must be a port number (0 for any free one), got "${env.PORT}"`);
  }
  return {
    apiBase: `${url.origin}${url.pathname.replace(/\/+$/, "")}`,
    token,
    concurrency,
    name: env.RUNNER_ID?.trim() || null,
    host: env.HOST || "127.0.0.1",
    port,
  };
}
