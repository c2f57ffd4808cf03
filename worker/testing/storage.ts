/**
 * Stores for tests: the R2 binding from miniflare and the S3 backend against the test S3 server
 * the Worker project's global setup starts (test/s3-server.ts).
 */
import { env } from "cloudflare:workers";
import { AwsClient } from "aws4fetch";
import { expect, inject } from "vitest";
import { createR2Store } from "../storage/r2";
import { createS3Store, type S3StoreConfig, s3Url } from "../storage/s3";
import { type ObjectStore, StorageError } from "../storage/store";

export function testS3Config(overrides: Partial<S3StoreConfig> = {}): S3StoreConfig {
  const server = inject("s3TestServer");
  return {
    endpoint: server.endpoint,
    region: "us-east-1",
    bucket: server.bucket,
    accessKeyId: server.accessKeyId,
    secretAccessKey: server.secretAccessKey,
    forcePathStyle: true,
    ...overrides,
  };
}

/**
 * The settings that point the app at the test S3 server (and `bucket` in it), for `callApp`'s
 * vars: the app then stores everything there instead of in the R2 binding.
 */
export function s3Vars(bucket: string = inject("s3TestServer").bucket): Record<string, string> {
  const server = inject("s3TestServer");
  return {
    STORAGE_BACKEND: "s3",
    S3_ENDPOINT: server.endpoint,
    S3_BUCKET: bucket,
    S3_ACCESS_KEY_ID: server.accessKeyId,
    S3_SECRET_ACCESS_KEY: server.secretAccessKey,
    S3_FORCE_PATH_STYLE: "true",
  };
}

/** A new, empty bucket on the test S3 server, for tests that compare everything a bucket holds. */
export async function createTestBucket(name: string): Promise<string> {
  const bucket = `${name}-${crypto.randomUUID().slice(0, 8)}`.toLowerCase();
  const config = testS3Config({ bucket });
  const client = new AwsClient({ ...config, service: "s3" });
  const res = await client.fetch(s3Url(config, undefined).toString(), { method: "PUT" });
  if (!res.ok) throw new Error(`creating bucket ${bucket}: ${res.status} ${await res.text()}`);
  return bucket;
}

/** The app on each backend: the vars that select it, and the same store for a test to look into. */
export const appBackends = () => [
  { name: "r2" as const, vars: {} as Record<string, string>, store: createR2Store(env.MEDIA) },
  { name: "s3" as const, vars: s3Vars(), store: createS3Store(testS3Config()) },
];

export interface TestBackend {
  name: "r2" | "s3";
  store: ObjectStore;
  /** R2 wants every part but the last the same size; S3 only wants them at least 5 MiB. */
  equalPartsRequired: boolean;
}

export const testBackends = (): TestBackend[] => [
  { name: "r2", store: createR2Store(env.MEDIA), equalPartsRequired: true },
  { name: "s3", store: createS3Store(testS3Config()), equalPartsRequired: false },
];

/** The byte at `position` of every patterned body: one that can be checked without keeping it. */
export const patternByte = (position: number): number => (position * 31 + Math.floor(position / 65_536)) & 0xff;

export function patternBytes(offset: number, length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = patternByte(offset + i);
  return bytes;
}

export interface PatternStreamOptions {
  /** The position of the first byte in the pattern. */
  start?: number;
  chunkSize?: number;
  /** Runs before each chunk with the bytes produced so far; it may wait, and so hold the stream back. */
  onPull?: (produced: number) => Promise<void> | void;
}

/** `total` patterned bytes, made as they are pulled. */
export function patternStream(
  total: number,
  { start = 0, chunkSize = 1024 * 1024, onPull }: PatternStreamOptions = {},
): ReadableStream<Uint8Array> {
  let produced = 0;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (produced >= total) {
          controller.close();
          return;
        }
        await onPull?.(produced);
        const length = Math.min(chunkSize, total - produced);
        controller.enqueue(patternBytes(start + produced, length));
        produced += length;
      },
    },
    { highWaterMark: 0 },
  );
}

/** Reads a whole (small) body. */
export async function readBytes(body: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(body).arrayBuffer());
}

/** A fresh key prefix, so tests share a bucket without seeing each other's objects. */
export const freshPrefix = (name: string) => `test/${name}/${crypto.randomUUID()}/`;

/** The StorageError a call fails with (and fails the test if it succeeds or fails otherwise). */
export async function storageErrorOf(promise: Promise<unknown>): Promise<StorageError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(StorageError);
  return err as StorageError;
}
