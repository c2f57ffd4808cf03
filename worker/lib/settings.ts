import { loadStorageSettings, type StorageSettings } from "../storage/index";

/**
 * Every setting of the Worker, parsed once per request from the environment with its default.
 * Defaults live here and in wrangler.toml's [vars]; `.dev.vars.example` lists them all.
 */
export interface Settings {
  environment: "development" | "production" | "staging" | "test";
  publicBaseUrl: string;
  transcoderUrl: string;
  maxUploadSize: number;
  /** Unfinished resumable uploads are dropped after this long. */
  uploadExpiryHours: number;
  /** Bytes of sources one user may store; 0 means no quota. */
  userStorageQuotaBytes: number;
  defaultVideoQuality: number;
  maxVideoQuality: number;
  corsAllowedOrigins: string[];
  playbackAllowedOrigins: string[];
  playback: {
    /** `kid:secret` pairs, newest first; the first signs, all verify. */
    signingKeys: string;
    tokenTtlSeconds: number;
    tokenMaxTtlSeconds: number;
  };
  logLevel: string;
  /** Users with these usernames are admins (besides those marked is_admin). */
  adminUsernames: string[];
  /** Transcode jobs: HMAC secret of job tokens, and how long a job may stay silent. */
  jobs: {
    tokenSecret: string;
    tokenTtlSeconds: number;
    staleAfterSeconds: number;
    maxAttempts: number;
    /** First retry delay of a dispatch that found no transcoder; doubles each time. */
    retryBaseSeconds: number;
    maxFileSize: number;
    maxDurationSeconds: number;
  };
  /** Days an API key stays valid after it is issued; 0 keeps keys until logout or password change. */
  authKeyTtlDays: number;
  rateLimits: {
    /** false turns every limit off (benchmarks, private deployments). */
    enabled: boolean;
    anonymousPerDay: number;
    userPerDay: number;
    uploadsPerDay: number;
    streamingPerHour: number;
  };
  /** Where objects are kept: the R2 binding or an S3-compatible bucket (worker/storage). */
  storage: StorageSettings;
}

type RawEnv = Partial<Record<string, unknown>>;

/** Used only where JOB_TOKEN_SECRET is not set, which production does not allow. */
export const DEV_JOB_TOKEN_SECRET = "development-only-job-token-secret";
/** Used only where PLAYBACK_SIGNING_KEYS is not set, which production does not allow. */
export const DEV_PLAYBACK_SIGNING_KEYS = "dev:development-only-playback-key";

const str = (env: RawEnv, key: string, fallback: string): string => {
  const v = env[key];
  return typeof v === "string" && v.trim() !== "" ? v.trim() : fallback;
};

/** The value when the setting is present at all (even empty), the fallback when absent. */
const setOr = (env: RawEnv, key: string, fallback: string): string => {
  const v = env[key];
  return typeof v === "string" ? v.trim() : fallback;
};

const int = (env: RawEnv, key: string, fallback: number): number => {
  const n = Number(str(env, key, String(fallback)));
  return Number.isFinite(n) && n >= 0 ? Math.floor(n) : fallback;
};

/** Secrets production cannot run without; elsewhere fixed development values stand in. */
export const REQUIRED_SECRETS = ["JOB_TOKEN_SECRET", "PLAYBACK_SIGNING_KEYS"] as const;

/** The required secrets that are missing, if this is production; empty otherwise. */
export function missingSecrets(env: RawEnv): string[] {
  const environment = str(env, "ENVIRONMENT", "development");
  if (environment !== "production") return [];
  return REQUIRED_SECRETS.filter((name) => str(env, name, "") === "");
}

/** "1080p", "1080" → 1080. */
export function parseQuality(value: string, fallback: number): number {
  const m = /^(\d{3,4})p?$/i.exec(value.trim());
  return m ? Number(m[1]) : fallback;
}

const bool = (env: RawEnv, key: string, fallback: boolean): boolean => {
  const v = str(env, key, String(fallback)).toLowerCase();
  if (["true", "1", "yes", "on"].includes(v)) return true;
  if (["false", "0", "no", "off"].includes(v)) return false;
  return fallback;
};

const list = (value: string): string[] =>
  value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);

export function loadSettings(env: RawEnv): Settings {
  const environment = str(env, "ENVIRONMENT", "development");
  return {
    environment: (["development", "production", "staging", "test"].includes(environment)
      ? environment
      : "development") as Settings["environment"],
    publicBaseUrl: str(env, "PUBLIC_BASE_URL", ""),
    // Set but empty is meaningful for these two: no HTTP transcoder (containers), no CORS origins.
    transcoderUrl: setOr(env, "TRANSCODER_URL", ""),
    maxUploadSize: int(env, "MAX_UPLOAD_SIZE", 10 * 1024 ** 3),
    uploadExpiryHours: Math.max(1, int(env, "UPLOAD_EXPIRY_HOURS", 24)),
    userStorageQuotaBytes: int(env, "USER_STORAGE_QUOTA_BYTES", 0),
    defaultVideoQuality: parseQuality(str(env, "DEFAULT_VIDEO_QUALITY", "1080p"), 1080),
    maxVideoQuality: parseQuality(str(env, "MAX_VIDEO_QUALITY", "2160p"), 2160),
    corsAllowedOrigins: list(setOr(env, "CORS_ALLOWED_ORIGINS", "http://127.0.0.1:8787,http://localhost:8787")),
    playbackAllowedOrigins: list(str(env, "PLAYBACK_ALLOWED_ORIGINS", "*")),
    playback: {
      signingKeys: str(env, "PLAYBACK_SIGNING_KEYS", DEV_PLAYBACK_SIGNING_KEYS),
      tokenTtlSeconds: int(env, "PLAYBACK_TOKEN_TTL_SECONDS", 3600),
      tokenMaxTtlSeconds: int(env, "PLAYBACK_TOKEN_MAX_TTL_SECONDS", 24 * 3600),
    },
    logLevel: str(env, "LOG_LEVEL", "info"),
    adminUsernames: list(str(env, "ADMIN_USERNAMES", "")),
    jobs: {
      // Production never dispatches with this default (the queue consumer refuses and logs why).
      tokenSecret: str(env, "JOB_TOKEN_SECRET", DEV_JOB_TOKEN_SECRET),
      tokenTtlSeconds: int(env, "JOB_TOKEN_TTL_SECONDS", 12 * 3600),
      staleAfterSeconds: int(env, "JOB_STALE_SECONDS", 120),
      maxAttempts: Math.max(1, int(env, "JOB_MAX_ATTEMPTS", 3)),
      retryBaseSeconds: Math.max(1, int(env, "JOB_RETRY_BASE_SECONDS", 10)),
      maxFileSize: int(env, "JOB_MAX_FILE_SIZE", 2 * 1024 ** 3),
      maxDurationSeconds: int(env, "MAX_VIDEO_DURATION_SECONDS", 6 * 3600),
    },
    authKeyTtlDays: int(env, "AUTH_KEY_TTL_DAYS", 0),
    rateLimits: {
      enabled: bool(env, "RATE_LIMIT_ENABLED", true),
      anonymousPerDay: int(env, "RATE_LIMIT_ANON_PER_DAY", 100),
      userPerDay: int(env, "RATE_LIMIT_USER_PER_DAY", 1000),
      uploadsPerDay: int(env, "RATE_LIMIT_UPLOADS_PER_DAY", 10),
      streamingPerHour: int(env, "RATE_LIMIT_STREAM_PER_HOUR", 1000),
    },
    storage: loadStorageSettings(env),
  };
}
