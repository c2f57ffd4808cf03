// The parts of s3rver (an S3-compatible server for tests; it ships no types) that test/s3-server.ts uses.
declare module "s3rver" {
  import type { IncomingMessage, ServerResponse } from "node:http";

  interface S3rverOptions {
    silent?: boolean;
    directory?: string;
    resetOnClose?: boolean;
    vhostBuckets?: boolean;
    configureBuckets?: { name: string; configs?: (string | Buffer)[] }[];
  }

  interface KoaContext {
    method: string;
    path: string;
    query: Record<string, string | undefined>;
    params: Record<string, string | undefined>;
    req: NodeJS.ReadableStream & IncomingMessage;
    status: number;
    body: unknown;
  }

  type Middleware = (ctx: KoaContext, next: () => Promise<void>) => Promise<void> | void;

  class S3rver {
    constructor(options?: S3rverOptions);
    middleware: Middleware[];
    store: {
      getResourcePath(bucket: string, key: string | undefined, resource: string): string;
      getBucket(bucket: string): Promise<unknown>;
      listObjects(
        bucket: string,
        options: { prefix?: string; startAfter?: string; maxKeys?: number; delimiter?: string },
      ): Promise<{
        objects: { key: string; size: number; lastModifiedDate: Date; metadata: Record<string, string> }[];
        commonPrefixes: string[];
        isTruncated: boolean;
      }>;
    };
    configureBuckets(): Promise<void>;
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
    reset(): void;
  }
  export default S3rver;
}

declare module "s3rver/lib/models/error.js" {
  class S3Error extends Error {
    constructor(code: string, message?: string, detail?: Record<string, unknown>);
    readonly code: string;
    readonly status: number;
  }
  export default S3Error;
}
