// Values the Worker test project's global setup (test/worker-global-setup.ts) hands to tests.
import "vitest";

declare module "vitest" {
  export interface ProvidedContext {
    /** The test S3 server (test/s3-server.ts): its origin (path-style addressing), bucket and keys. */
    s3TestServer: { endpoint: string; bucket: string; accessKeyId: string; secretAccessKey: string };
  }
}
