/**
 * The transcoder's settings, read from the environment once by `main.ts` and passed down.
 * Every setting has a default that works locally and in the container.
 */
import { tmpdir } from "node:os";

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
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got "${value}"`);
  return n;
};

export function settingsFromEnv(env: Record<string, string | undefined>): TranscoderSettings {
  const preset = env.TRANSCODER_X264_PRESET || "veryfast";
  if (!(X264_PRESETS as readonly string[]).includes(preset)) {
    throw new Error(`TRANSCODER_X264_PRESET must be one of ${X264_PRESETS.join(", ")}, got "${preset}"`);
  }
  return {
    x264Preset: preset,
    workDir: env.TRANSCODER_WORK_DIR || tmpdir(),
    maxPendingBytes: positiveInt(env.TRANSCODER_MAX_PENDING_MB, 1024, "TRANSCODER_MAX_PENDING_MB") * 1024 * 1024,
    uploadConcurrency: positiveInt(env.TRANSCODER_UPLOAD_CONCURRENCY, 3, "TRANSCODER_UPLOAD_CONCURRENCY"),
  };
}
