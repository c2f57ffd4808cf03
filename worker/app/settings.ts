/**
 * Every setting of the Worker in one zod schema: its environment name, its default and its rule.
 * Parsed once per environment object (per isolate in production); a bad value is refused loudly
 * with the setting's name, never replaced by a default in silence. `.dev.vars.example` lists
 * every setting with its default; wrangler.toml sets only what differs per environment.
 */
import { z } from "zod";
import { DEFAULT_EMBED_ALLOWED_ORIGINS, parseFrameAncestors } from "../embed/embed-page";
import { loadStorageSettings } from "../storage/index";
import type { Logger } from "./logger";

/** Used only where JOB_TOKEN_SECRET is not set, which production does not allow. */
export const DEV_JOB_TOKEN_SECRET = "development-only-job-token-secret";
/** Used only where PLAYBACK_SIGNING_KEYS is not set, which production does not allow. */
export const DEV_PLAYBACK_SIGNING_KEYS = "dev:development-only-playback-key";

/** Secrets production cannot run without; elsewhere fixed development values stand in. */
export const REQUIRED_SECRETS = ["JOB_TOKEN_SECRET", "PLAYBACK_SIGNING_KEYS"] as const;
/** Never shown in an error message, even when their value is refused. */
const SECRET_SETTINGS = new Set<string>([
  ...REQUIRED_SECRETS,
  "S3_ACCESS_KEY_ID",
  "S3_SECRET_ACCESS_KEY",
  "LOCAL_RUNNER_TOKEN",
]);

export const ENVIRONMENTS = ["development", "staging", "production", "test"] as const;

/** An environment value as text: wrangler passes strings, tests sometimes numbers or booleans. */
const raw = z
  .union([z.string(), z.number(), z.boolean()])
  .optional()
  .transform((v) => (v === undefined ? undefined : String(v).trim()));

/** Absent or empty: the default. */
const text = (fallback: string) => raw.transform((v) => (v === undefined || v === "" ? fallback : v));

/** Absent: the default; present but empty is a value of its own (e.g. "no origins"). */
const textOrEmpty = (fallback: string) => raw.transform((v) => (v === undefined ? fallback : v));

const wholeNumber = (fallback: number, min = 0) =>
  text(String(fallback)).pipe(
    z
      .string()
      .regex(/^\d+$/, `must be a whole number${min > 0 ? ` of at least ${min}` : ""}`)
      .transform(Number)
      .pipe(z.number().int().min(min, `must be at least ${min}`).max(Number.MAX_SAFE_INTEGER)),
  );

const flag = (fallback: boolean) =>
  text(String(fallback)).pipe(
    z
      .string()
      .toLowerCase()
      .refine((v) => ["true", "1", "yes", "on", "false", "0", "no", "off"].includes(v), "must be true or false")
      .transform((v) => ["true", "1", "yes", "on"].includes(v)),
  );

const list = (value: string) =>
  value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);

/** "1080p", "1080" → 1080. */
export function parseQuality(value: string, fallback: number): number {
  const m = /^(\d{3,4})p?$/i.exec(value.trim());
  return m ? Number(m[1]) : fallback;
}

const quality = (fallback: string) =>
  text(fallback).pipe(
    z
      .string()
      .regex(/^\d{3,4}p?$/i, "must be a height such as 1080p")
      .transform((v) => parseQuality(v, 0)),
  );

const url = (fallback: string) =>
  textOrEmpty(fallback).pipe(z.string().refine((v) => v === "" || URL.canParse(v), "must be an absolute URL or empty"));

const logLevel = text("info").pipe(z.enum(["debug", "info", "warn", "error"], "must be debug, info, warn or error"));

/** The environment as the Worker receives it, by setting name. */
export const SettingsSchema = z
  .object({
    ENVIRONMENT: text("development").pipe(z.enum(ENVIRONMENTS, `must be one of ${ENVIRONMENTS.join(", ")}`)),
    PUBLIC_BASE_URL: url(""),
    JOB_TOKEN_SECRET: text(""),
    JOB_TOKEN_TTL_SECONDS: wholeNumber(12 * 3600, 60),
    JOB_MAX_FILE_SIZE: wholeNumber(2 * 1024 ** 3, 1),
    UNIT_LEASE_SECONDS: wholeNumber(60, 10),
    UNIT_MAX_ATTEMPTS: wholeNumber(3, 1),
    UNIT_MAX_LEASE_EXPIRIES: wholeNumber(5, 1),
    CHUNKED_ENCODING: flag(false),
    CHUNK_SECONDS: wholeNumber(60, 8).pipe(z.number().refine((v) => v % 4 === 0, "must be a multiple of 4")),
    CONTAINER_RUNNERS_MAX: wholeNumber(0),
    LOCAL_RUNNER_TOKEN: text("").pipe(
      z
        .string()
        .refine((v) => v === "" || /^[A-Za-z0-9_.-]{32,256}$/.test(v), "must be 32 to 256 of A-Z a-z 0-9 _ . -"),
    ),
    MAX_VIDEO_DURATION_SECONDS: wholeNumber(6 * 3600, 1),
    MAX_UPLOAD_SIZE: wholeNumber(10 * 1024 ** 3, 1),
    UPLOAD_EXPIRY_HOURS: wholeNumber(24, 1),
    USER_STORAGE_QUOTA_BYTES: wholeNumber(0),
    DEFAULT_VIDEO_QUALITY: quality("1080p"),
    MAX_VIDEO_QUALITY: quality("2160p"),
    CORS_ALLOWED_ORIGINS: textOrEmpty("http://127.0.0.1:8787,http://localhost:8787").transform(list),
    PLAYBACK_ALLOWED_ORIGINS: text("*").transform(list),
    EMBED_ALLOWED_ORIGINS: text(DEFAULT_EMBED_ALLOWED_ORIGINS).transform((value, ctx) => {
      const parsed = parseFrameAncestors(value);
      if (parsed.ok) return parsed.sources;
      ctx.addIssue({
        code: "custom",
        message: `must list origins such as https://blog.example, *, 'self' or 'none' (not ${parsed.invalid.join(", ")})`,
      });
      return z.NEVER;
    }),
    PLAYBACK_SIGNING_KEYS: text(""),
    PLAYBACK_TOKEN_TTL_SECONDS: wholeNumber(3600, 60),
    PLAYBACK_TOKEN_MAX_TTL_SECONDS: wholeNumber(24 * 3600, 60),
    // Below hls.js's 10 s wait for a segment's first byte, so a player retries rather than times out.
    PLAYBACK_SEGMENT_WAIT_SECONDS: wholeNumber(8).pipe(z.number().max(9, "must be at most 9")),
    LOG_LEVEL: logLevel,
    ADMIN_USERNAMES: text("").transform(list),
    AUTH_KEY_TTL_DAYS: wholeNumber(0),
    RATE_LIMIT_ENABLED: flag(true),
    RATE_LIMIT_ANON_PER_DAY: wholeNumber(100),
    RATE_LIMIT_USER_PER_DAY: wholeNumber(1000),
    RATE_LIMIT_UPLOADS_PER_DAY: wholeNumber(10),
    RATE_LIMIT_STREAM_PER_HOUR: wholeNumber(1000),
    // Imports from a URL may reach this machine and private networks: local development only.
    IMPORT_ALLOW_PRIVATE_HOSTS: flag(false),
    // Storage (worker/storage): the R2 binding, or an S3-compatible bucket through the S3 API.
    STORAGE_BACKEND: text("r2"),
    S3_ENDPOINT: text(""),
    S3_REGION: text(""),
    S3_BUCKET: text(""),
    S3_FORCE_PATH_STYLE: text("false"),
    S3_ACCESS_KEY_ID: text(""),
    S3_SECRET_ACCESS_KEY: text(""),
  })
  .superRefine((s, ctx) => {
    for (const problem of loadStorageSettings(s).problems) {
      // Each problem is a sentence that starts with the setting it is about, where it is about one.
      const setting = /^([A-Z][A-Z0-9_]+) (.*)$/.exec(problem);
      ctx.addIssue({
        code: "custom",
        path: [setting?.[1] ?? "STORAGE_BACKEND"],
        message: setting ? (setting[2] as string) : problem,
      });
    }
    if (s.ENVIRONMENT === "production") {
      for (const name of REQUIRED_SECRETS) {
        if (s[name] === "") ctx.addIssue({ code: "custom", path: [name], message: "is required in production" });
      }
    }
    if (s.LOCAL_RUNNER_TOKEN !== "" && (s.ENVIRONMENT === "production" || s.ENVIRONMENT === "staging")) {
      ctx.addIssue({ code: "custom", path: ["LOCAL_RUNNER_TOKEN"], message: "is for development only" });
    }
    if (s.IMPORT_ALLOW_PRIVATE_HOSTS && (s.ENVIRONMENT === "production" || s.ENVIRONMENT === "staging")) {
      ctx.addIssue({ code: "custom", path: ["IMPORT_ALLOW_PRIVATE_HOSTS"], message: "is for development only" });
    }
    if (s.DEFAULT_VIDEO_QUALITY > s.MAX_VIDEO_QUALITY) {
      ctx.addIssue({ code: "custom", path: ["DEFAULT_VIDEO_QUALITY"], message: "must not be above MAX_VIDEO_QUALITY" });
    }
  })
  .transform((s) => ({
    environment: s.ENVIRONMENT,
    publicBaseUrl: s.PUBLIC_BASE_URL.replace(/\/+$/, ""),
    maxUploadSize: s.MAX_UPLOAD_SIZE,
    /** Unfinished resumable uploads are dropped after this long. */
    uploadExpiryHours: s.UPLOAD_EXPIRY_HOURS,
    /** Bytes of sources one user may store; 0 means no quota. */
    userStorageQuotaBytes: s.USER_STORAGE_QUOTA_BYTES,
    defaultVideoQuality: s.DEFAULT_VIDEO_QUALITY,
    maxVideoQuality: s.MAX_VIDEO_QUALITY,
    corsAllowedOrigins: s.CORS_ALLOWED_ORIGINS,
    playbackAllowedOrigins: s.PLAYBACK_ALLOWED_ORIGINS,
    /** The sites that may show the embed page in a frame: its CSP `frame-ancestors` sources. */
    embedAllowedOrigins: s.EMBED_ALLOWED_ORIGINS,
    playback: {
      /** `kid:secret` pairs, newest first; the first signs, all verify. */
      signingKeys: s.PLAYBACK_SIGNING_KEYS || DEV_PLAYBACK_SIGNING_KEYS,
      tokenTtlSeconds: s.PLAYBACK_TOKEN_TTL_SECONDS,
      tokenMaxTtlSeconds: s.PLAYBACK_TOKEN_MAX_TTL_SECONDS,
      /** How long a request for a segment not stored yet, of a video that plays while processing, waits for it. */
      segmentWaitSeconds: s.PLAYBACK_SEGMENT_WAIT_SECONDS,
    },
    logLevel: s.LOG_LEVEL,
    /** Users with these usernames are admins (besides those marked is_admin). */
    adminUsernames: s.ADMIN_USERNAMES,
    /** Transcode jobs: the HMAC secret of unit tokens and their lifetime, and the limits a runner enforces. */
    jobs: {
      tokenSecret: s.JOB_TOKEN_SECRET || DEV_JOB_TOKEN_SECRET,
      tokenTtlSeconds: s.JOB_TOKEN_TTL_SECONDS,
      maxFileSize: s.JOB_MAX_FILE_SIZE,
      maxDurationSeconds: s.MAX_VIDEO_DURATION_SECONDS,
    },
    /** Work units: how long a claim holds without an event, and how often a unit may fail or be lost. */
    units: {
      leaseSeconds: s.UNIT_LEASE_SECONDS,
      maxAttempts: s.UNIT_MAX_ATTEMPTS,
      maxLeaseExpiries: s.UNIT_MAX_LEASE_EXPIRIES,
      /** Encode in time chunks any runner can take (probe, chunks, audio, finalize) instead of one `encode` unit. */
      chunked: s.CHUNKED_ENCODING,
      /** Seconds of every chunk after the first (8 s); a multiple of the 4 s segment. */
      chunkSeconds: s.CHUNK_SECONDS,
    },
    runners: {
      /** Transcoder containers the Worker may run at once (0: none, e.g. locally). */
      containerMax: s.CONTAINER_RUNNERS_MAX,
      /** The token of `npm start`'s local runner; empty: no local runner is accepted. */
      localToken: s.LOCAL_RUNNER_TOKEN,
    },
    /** Days an API key stays valid after it is issued; 0 keeps keys until logout or password change. */
    authKeyTtlDays: s.AUTH_KEY_TTL_DAYS,
    rateLimits: {
      /** false turns every limit off (benchmarks, private deployments). */
      enabled: s.RATE_LIMIT_ENABLED,
      anonymousPerDay: s.RATE_LIMIT_ANON_PER_DAY,
      userPerDay: s.RATE_LIMIT_USER_PER_DAY,
      uploadsPerDay: s.RATE_LIMIT_UPLOADS_PER_DAY,
      streamingPerHour: s.RATE_LIMIT_STREAM_PER_HOUR,
    },
    imports: {
      /** Whether an import may fetch from loopback and private addresses (development only). */
      allowPrivateHosts: s.IMPORT_ALLOW_PRIVATE_HOSTS,
    },
    /** Where objects are kept: the R2 binding or an S3-compatible bucket (worker/storage). */
    storage: loadStorageSettings(s),
  }));

export type Settings = z.output<typeof SettingsSchema>;

/** The names of every setting, as `.dev.vars.example` must list them. */
export const SETTING_NAMES = Object.keys(SettingsSchema.in.shape) as (keyof typeof SettingsSchema.in.shape)[];

/** Bad settings: each problem names its setting, so the log line says what to fix. */
export class SettingsError extends Error {
  readonly problems: { setting: string; message: string }[];
  constructor(problems: { setting: string; message: string }[]) {
    super(`Invalid settings: ${problems.map((p) => `${p.setting} ${p.message}`).join("; ")}`);
    this.name = "SettingsError";
    this.problems = problems;
  }
  /** Secrets that production lacks (the fix is `wrangler secret put NAME`). */
  get missingSecrets(): string[] {
    return this.problems.filter((p) => p.message === "is required in production").map((p) => p.setting);
  }
}

const parsed = new WeakMap<object, Settings>();

/** The settings of an environment, parsed once per environment object; throws {@link SettingsError}. */
export function loadSettings(env: object): Settings {
  const cached = parsed.get(env);
  if (cached) return cached;
  const result = SettingsSchema.safeParse(env);
  if (!result.success) {
    throw new SettingsError(
      result.error.issues.map((issue) => {
        const setting = String(issue.path[0] ?? "settings");
        const value = (env as Record<string, unknown>)[setting];
        const shown = SECRET_SETTINGS.has(setting) ? "" : value === undefined ? "" : ` (got ${JSON.stringify(value)})`;
        return { setting, message: `${issue.message}${shown}` };
      }),
    );
  }
  parsed.set(env, result.data);
  return result.data;
}

/** One log line for settings the platform refuses to run with, naming each and how to fix it. */
export function logSettingsError(logger: Logger, err: SettingsError, what: string) {
  const missing = err.missingSecrets;
  if (missing.length > 0) {
    logger.error(`${what}: required secrets are missing`, {
      missing,
      fix: missing.map((name) => `wrangler secret put ${name}`),
    });
  }
  const invalid = err.problems.filter((p) => !missing.includes(p.setting));
  if (invalid.length > 0) {
    logger.error(`${what}: invalid settings`, {
      invalid: invalid.map((p) => `${p.setting} ${p.message}`),
    });
  }
}
