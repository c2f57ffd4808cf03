/**
 * Which store the platform uses, from its settings: the R2 binding (`STORAGE_BACKEND=r2`, the
 * default) or an S3-compatible bucket (`STORAGE_BACKEND=s3`).
 *
 * The S3_* settings name the bucket for the S3 backend. With the R2 backend they may name the same
 * bucket's S3 endpoint (`https://<account id>.r2.cloudflarestorage.com`, with an R2 API token's
 * keys): then the binding still does all the storing, and the S3 API only signs URLs, so
 * presigned (direct) uploads work on R2 as well.
 */
import { createR2Store } from "./r2";
import { createS3Store, type S3StoreConfig } from "./s3";
import type { ObjectStore } from "./store";

export type { ServeOptions } from "./serve";
export { serveObject } from "./serve";
export * from "./store";

export interface StorageSettings {
  backend: "r2" | "s3";
  s3: Omit<S3StoreConfig, "now">;
  /** What is wrong with these settings, as sentences naming the setting; empty when usable. */
  problems: string[];
}

type RawEnv = Partial<Record<string, unknown>>;

const text = (env: RawEnv, key: string): string => {
  const value = env[key];
  return typeof value === "string" ? value.trim() : "";
};

const BOOLEAN: Record<string, boolean> = {
  true: true,
  "1": true,
  yes: true,
  on: true,
  false: false,
  "0": false,
  no: false,
  off: false,
};

const S3_REQUIRED = ["S3_BUCKET", "S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY"] as const;
const R2_PRESIGN_REQUIRED = ["S3_ENDPOINT", ...S3_REQUIRED] as const;

export function loadStorageSettings(env: RawEnv): StorageSettings {
  const problems: string[] = [];
  const backendText = (text(env, "STORAGE_BACKEND") || "r2").toLowerCase();
  if (backendText !== "r2" && backendText !== "s3") {
    problems.push(`STORAGE_BACKEND must be r2 or s3, not ${JSON.stringify(backendText)}`);
  }
  const backend = backendText === "s3" ? "s3" : "r2";
  const pathStyleText = text(env, "S3_FORCE_PATH_STYLE").toLowerCase() || "false";
  const forcePathStyle = BOOLEAN[pathStyleText];
  if (forcePathStyle === undefined)
    problems.push(`S3_FORCE_PATH_STYLE must be true or false, not ${JSON.stringify(pathStyleText)}`);
  const endpoint = text(env, "S3_ENDPOINT");
  if (endpoint && !/^https?:\/\/[^/]+\/?$/.test(endpoint)) {
    problems.push(
      `S3_ENDPOINT must be an http(s) origin such as https://s3.eu-west-1.amazonaws.com, not ${JSON.stringify(endpoint)}`,
    );
  } else if (
    endpoint &&
    forcePathStyle === false &&
    /^https?:\/\/(localhost|\[[^\]]*\]|[\d.]+)(:\d+)?\/?$/.test(endpoint)
  ) {
    // Virtual-host addressing puts the bucket in front of the host name, which an address has not.
    problems.push(`S3_ENDPOINT ${endpoint} has no host name to put the bucket in: set S3_FORCE_PATH_STYLE=true`);
  }
  if (backend === "s3") {
    const missing = S3_REQUIRED.filter((name) => text(env, name) === "");
    if (missing.length > 0) problems.push(`STORAGE_BACKEND=s3 needs ${missing.join(", ")}`);
  } else {
    const given = R2_PRESIGN_REQUIRED.filter((name) => text(env, name) !== "");
    if (given.length > 0 && given.length < R2_PRESIGN_REQUIRED.length) {
      const missing = R2_PRESIGN_REQUIRED.filter((name) => !given.includes(name));
      problems.push(
        `Presigned URLs on R2 need all of ${R2_PRESIGN_REQUIRED.join(", ")}; missing ${missing.join(", ")}`,
      );
    }
  }
  return {
    backend,
    s3: {
      endpoint,
      // R2's S3 API names its one region `auto`; elsewhere us-east-1 is the S3 default.
      region: text(env, "S3_REGION") || (/\.r2\.cloudflarestorage\.com\/?$/.test(endpoint) ? "auto" : "us-east-1"),
      bucket: text(env, "S3_BUCKET"),
      accessKeyId: text(env, "S3_ACCESS_KEY_ID"),
      secretAccessKey: text(env, "S3_SECRET_ACCESS_KEY"),
      forcePathStyle: forcePathStyle ?? false,
    },
    problems,
  };
}

export class StorageConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`Storage is not configured: ${problems.join("; ")}`);
    this.name = "StorageConfigError";
    this.problems = problems;
  }
}

/** Whether the R2 backend has what R2's S3 API needs to sign URLs. */
const r2CanPresign = (s3: StorageSettings["s3"]) =>
  [s3.endpoint, s3.bucket, s3.accessKeyId, s3.secretAccessKey].every((value) => value !== "");

/** The store the settings choose; throws StorageConfigError (naming each setting) when they are unusable. */
export function createStore(env: { MEDIA: R2Bucket }, settings: StorageSettings): ObjectStore {
  if (settings.problems.length > 0) throw new StorageConfigError(settings.problems);
  if (settings.backend === "s3") return createS3Store(settings.s3);
  return createR2Store(env.MEDIA, r2CanPresign(settings.s3) ? { presigner: createS3Store(settings.s3) } : {});
}
