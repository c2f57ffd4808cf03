// Values the Worker test project's global setup (test/worker-global-setup.ts) hands to tests.
import "vitest";

declare module "vitest" {
  export interface ProvidedContext {
    /** The test S3 server (test/s3-server.ts): its origin (path-style addressing), bucket and keys. */
    s3TestServer: { endpoint: string; bucket: string; accessKeyId: string; secretAccessKey: string };
    /**
     * The import tests' HTTP origin (test/import-origin.ts) on 127.0.0.1. The Worker also reaches it
     * as `http://import-origin.test:<port>`: a public-looking name (vitest.config.ts), the way a
     * name in public DNS would lead to it.
     */
    importOrigin: { url: string; port: number };
  }
}
