import type { TestProject } from "vitest/node";
import { S3_TEST_ACCESS_KEY_ID, S3_TEST_BUCKET, S3_TEST_SECRET_ACCESS_KEY, startS3TestServer } from "../s3-server.ts";
import { startPlatform } from "../support/platform.ts";

declare module "vitest" {
  export interface ProvidedContext {
    apiUrl: string;
    runnerUrl: string;
    stateDir: string;
    /** The storage backend the platform runs on (E2E_STORAGE_BACKEND, default r2). */
    storageBackend: "r2" | "s3";
    /** With the S3 backend, where its server is (path-style) and how to sign for it; null otherwise. */
    s3Bucket: { endpoint: string; bucket: string; accessKeyId: string; secretAccessKey: string } | null;
  }
}

/**
 * One platform for every end-to-end file, started as `npm start` starts it. With
 * E2E_STORAGE_BACKEND=s3 it stores everything in an S3-compatible server started here, selected
 * by VAR_STORAGE_BACKEND and the VAR_S3_* settings as a user would.
 */
export default async function setup(project: TestProject) {
  const backend = process.env.E2E_STORAGE_BACKEND === "s3" ? "s3" : "r2";
  const s3 = backend === "s3" ? await startS3TestServer() : undefined;
  const env: Record<string, string> = s3
    ? {
        VAR_STORAGE_BACKEND: "s3",
        VAR_S3_ENDPOINT: s3.endpoint,
        VAR_S3_BUCKET: S3_TEST_BUCKET,
        VAR_S3_FORCE_PATH_STYLE: "true",
        VAR_S3_ACCESS_KEY_ID: S3_TEST_ACCESS_KEY_ID,
        VAR_S3_SECRET_ACCESS_KEY: S3_TEST_SECRET_ACCESS_KEY,
      }
    : {};
  const platform = await startPlatform({
    apiPort: Number(process.env.E2E_API_PORT ?? 18787),
    transcoderPort: Number(process.env.E2E_TRANSCODER_PORT ?? 18788),
    env,
  }).catch(async (err) => {
    await s3?.close();
    throw err;
  });
  project.provide("apiUrl", platform.apiUrl);
  project.provide("runnerUrl", platform.runnerUrl);
  project.provide("stateDir", platform.stateDir);
  project.provide("storageBackend", backend);
  project.provide(
    "s3Bucket",
    s3
      ? {
          endpoint: s3.endpoint,
          bucket: S3_TEST_BUCKET,
          accessKeyId: S3_TEST_ACCESS_KEY_ID,
          secretAccessKey: S3_TEST_SECRET_ACCESS_KEY,
        }
      : null,
  );
  return async () => {
    await platform.stop();
    await s3?.close();
  };
}
