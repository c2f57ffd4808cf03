/**
 * The test S3 server (test/s3-server.ts, s3rver) in a process of its own, for benchmarks: its
 * work then runs beside the load generator's event loop instead of on it. Run directly, it
 * prints its endpoint on the first line and serves until SIGTERM or until its standard input
 * closes.
 */
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { AwsClient } from "aws4fetch";
import {
  S3_TEST_ACCESS_KEY_ID,
  S3_TEST_BUCKET,
  S3_TEST_SECRET_ACCESS_KEY,
  startS3TestServer,
} from "../test/s3-server.ts";
import { root } from "../test/support/platform.ts";

export interface S3Process {
  endpoint: string;
  bucket: string;
  /** Signs requests as the app's S3 backend does (s3rver's own account). */
  client: AwsClient;
  /** `wrangler dev` arguments that point the app's S3 backend at this server. */
  workerArgs: string[];
  stop(): Promise<void>;
}

export async function startS3Process(): Promise<S3Process> {
  const child = spawn(process.execPath, [import.meta.filename], { cwd: root, stdio: ["pipe", "pipe", "inherit"] });
  const endpoint = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).once("line", resolve);
    child.once("exit", (code) => reject(new Error(`the S3 server exited at once (${code})`)));
  });
  const vars = {
    STORAGE_BACKEND: "s3",
    S3_ENDPOINT: endpoint,
    S3_BUCKET: S3_TEST_BUCKET,
    S3_FORCE_PATH_STYLE: "true",
    S3_ACCESS_KEY_ID: S3_TEST_ACCESS_KEY_ID,
    S3_SECRET_ACCESS_KEY: S3_TEST_SECRET_ACCESS_KEY,
  };
  return {
    endpoint,
    bucket: S3_TEST_BUCKET,
    client: new AwsClient({
      accessKeyId: S3_TEST_ACCESS_KEY_ID,
      secretAccessKey: S3_TEST_SECRET_ACCESS_KEY,
      service: "s3",
      region: "us-east-1",
      retries: 0,
    }),
    workerArgs: Object.entries(vars).flatMap(([k, v]) => ["--var", `${k}:${v}`]),
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    },
  };
}

if (import.meta.main) {
  const s3 = await startS3TestServer();
  console.log(s3.endpoint);
  const stop = () => void s3.close().then(() => process.exit(0));
  process.once("SIGTERM", stop);
  // Standard input closes when the benchmark ends, however it ends: no server is left behind.
  process.stdin.once("end", stop).resume();
}
