/**
 * Global setup of the Worker test project (runs in Node): an S3-compatible server for the S3
 * storage backend's tests, which tests reach with `inject("s3TestServer")`, and an HTTP origin
 * for the import tests (`inject("importOrigin")`).
 */
import type { TestProject } from "vitest/node";
import { startImportOrigin } from "./import-origin.ts";
import { S3_TEST_ACCESS_KEY_ID, S3_TEST_BUCKET, S3_TEST_SECRET_ACCESS_KEY, startS3TestServer } from "./s3-server.ts";

export default async function setup(project: TestProject) {
  const server = await startS3TestServer();
  const origin = await startImportOrigin();
  project.provide("importOrigin", { url: origin.url, port: origin.port });
  project.provide("s3TestServer", {
    endpoint: server.endpoint,
    bucket: S3_TEST_BUCKET,
    accessKeyId: S3_TEST_ACCESS_KEY_ID,
    secretAccessKey: S3_TEST_SECRET_ACCESS_KEY,
  });
  return async () => {
    await origin.close();
    await server.close();
  };
}
