/**
 * The one storage interface under everything that keeps bytes: sources, tus tails, transcoder
 * outputs. Two backends implement it, the R2 binding (./r2.ts) and any S3-compatible bucket
 * (./s3.ts); ./index.ts picks one from the settings.
 *
 * Callers follow R2's rules, which are the stricter: bodies stream in both directions; a streamed
 * put names its length; multipart parts are at least 5 MiB and all the same size, but the last may
 * be smaller; at most 10,000 parts (an S3 bucket enforces only the 5 MiB minimum). A missing
 * object is `null` from `head` and `get`; every other failure is a `StorageError` with the
 * backend's status and an S3 error code, never a raw answer.
 */

/** What a store knows about an object. */
export interface ObjectInfo {
  key: string;
  /** The whole object's size in bytes, also when a range of it was read. */
  size: number;
  /** The entity tag without quotes. */
  etag: string;
  /** The entity tag as HTTP sends it (quoted): what `ETag` and `If-None-Match` carry. */
  httpEtag: string;
  contentType: string | undefined;
  uploaded: Date | undefined;
}

/** An object being read: its body streams and can be read once. */
export interface ObjectBody extends ObjectInfo {
  body: ReadableStream<Uint8Array>;
  /** The bytes the body holds: the whole object, or the range asked for. */
  range: { offset: number; length: number };
  text(): Promise<string>;
  arrayBuffer(): Promise<ArrayBuffer>;
}

/** A byte range to read: `length` bytes from `offset`, or to the end without `length`. */
export interface ByteRange {
  offset: number;
  length?: number;
}

/** Bytes held in memory; anything larger streams. */
export type StoredBytes = Uint8Array | ArrayBuffer | string;

export interface PutOptions {
  contentType?: string;
}

export interface ListOptions {
  prefix?: string;
  /** From the previous page's `cursor`. */
  cursor?: string;
  /** At most 1000 (and the default). */
  limit?: number;
}

export interface ListedObject {
  key: string;
  size: number;
  etag: string;
  uploaded: Date | undefined;
}

export interface ListPage {
  objects: ListedObject[];
  /** More keys follow: ask again with `cursor`. */
  truncated: boolean;
  cursor?: string;
}

export interface UploadedPart {
  partNumber: number;
  /** As the backend answered it; quotes are optional. */
  etag: string;
}

/** One multipart upload in progress; `resumeMultipartUpload` gets it back in a later request. */
export interface MultipartUpload {
  readonly key: string;
  readonly uploadId: string;
  /** Stores one part (1…10,000). A stream needs its exact `length`. Uploading a number again replaces it. */
  uploadPart(partNumber: number, body: StoredBytes): Promise<UploadedPart>;
  uploadPart(partNumber: number, body: ReadableStream<Uint8Array>, length: number): Promise<UploadedPart>;
  /** Joins the parts, in ascending order, into the object. Fails on a missing part or a wrong ETag. */
  complete(parts: UploadedPart[]): Promise<ObjectInfo>;
  /** Drops the upload and its parts; aborting one that is gone is not an error. */
  abort(): Promise<void>;
}

export interface ObjectStore {
  readonly backend: "r2" | "s3";
  /** Whether `presignUploadPart` and `presignGet` work here: the S3 API is reachable with credentials. */
  readonly canPresign: boolean;

  head(key: string): Promise<ObjectInfo | null>;
  /** The object's bytes, streamed; with `range`, only those (clamped to the object's end). */
  get(key: string, options?: { range?: ByteRange }): Promise<ObjectBody | null>;
  /** Stores a whole object. A stream needs its exact `length`, and is sent as it is read. */
  put(key: string, body: StoredBytes, options?: PutOptions): Promise<ObjectInfo>;
  put(key: string, body: ReadableStream<Uint8Array>, options: PutOptions & { length: number }): Promise<ObjectInfo>;
  /** Deletes keys (any number; missing ones are no error). */
  delete(keys: string | string[]): Promise<void>;
  /** One page of keys in lexicographic order. */
  list(options?: ListOptions): Promise<ListPage>;

  createMultipartUpload(key: string, options?: PutOptions): Promise<MultipartUpload>;
  resumeMultipartUpload(key: string, uploadId: string): MultipartUpload;

  /** A URL anyone may PUT one part to until it expires; the answer's `ETag` header goes to `complete`. */
  presignUploadPart(key: string, uploadId: string, partNumber: number, expiresInSeconds: number): Promise<string>;
  /** A URL anyone may GET the object from until it expires. */
  presignGet(key: string, expiresInSeconds: number): Promise<string>;
}

export const MIN_PART_SIZE = 5 * 1024 * 1024;
export const MAX_PART_SIZE = 5 * 1024 ** 3;
export const MAX_PARTS = 10_000;
/** The most keys one list page or one delete request takes. */
export const MAX_KEYS_PER_REQUEST = 1000;
/** S3 refuses presigned URLs that last longer than a week. */
export const MAX_PRESIGN_SECONDS = 7 * 24 * 3600;

/**
 * A storage failure: `status` is the HTTP status the backend answered (or stands for), `code` an
 * S3 error code (`NoSuchUpload`, `InvalidPart`, `EntityTooSmall`, `AccessDenied`, …).
 */
export class StorageError extends Error {
  readonly status: number;
  readonly code: string;
  readonly backend: "r2" | "s3";
  readonly key: string | undefined;

  constructor(
    backend: "r2" | "s3",
    status: number,
    code: string,
    message: string,
    options: { key?: string; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = "StorageError";
    this.backend = backend;
    this.status = status;
    this.code = code;
    this.key = options.key;
  }
}

/** A missing object or upload. */
export const isNotFound = (err: unknown): boolean => err instanceof StorageError && err.status === 404;

/** `"abc"` → `abc`; `W/"abc"` → `abc`. */
export const bareEtag = (etag: string): string => etag.replace(/^W\//, "").replace(/"/g, "");

/** `abc` → `"abc"`. */
export const quotedEtag = (etag: string): string => `"${bareEtag(etag)}"`;

/** Whether a stored object can have this key: every backend and URL can address it. */
export function checkKey(backend: "r2" | "s3", key: string): void {
  const bytes = new TextEncoder().encode(key).length;
  // "." and ".." segments would be resolved away by URL parsing on the S3 side.
  const bad = bytes === 0 || bytes > 1024 || key.split("/").some((segment) => segment === "." || segment === "..");
  if (bad) throw new StorageError(backend, 400, "InvalidObjectName", `Not a usable object key: ${JSON.stringify(key)}`);
}

/** A range must start at a byte and hold at least one. */
export function checkRange(backend: "r2" | "s3", key: string, range: ByteRange | undefined): void {
  if (!range) return;
  const { offset, length } = range;
  const valid =
    Number.isSafeInteger(offset) &&
    offset >= 0 &&
    (length === undefined || (Number.isSafeInteger(length) && length >= 1));
  if (!valid)
    throw new StorageError(backend, 416, "InvalidRange", `Not a byte range: ${JSON.stringify(range)}`, { key });
}

/**
 * A stream as the runtime sends it without buffering: through a FixedLengthStream of its exact
 * length, so the length is known up front. A source with fewer or more bytes errors the copy with
 * `IncompleteBody`. `copied` settles (never rejects) with the copy's error, if any; `stop` ends
 * the copy early (when the other side has already refused).
 */
export function withExactLength(backend: "r2" | "s3", source: ReadableStream<Uint8Array>, length: number) {
  if (!Number.isSafeInteger(length) || length < 0)
    throw new TypeError(`A streamed body needs its length, not ${length}`);
  let seen = 0;
  const incomplete = (what: string) =>
    new StorageError(backend, 400, "IncompleteBody", `The body had ${what} than the ${length} bytes announced`);
  const counted = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      seen += chunk.byteLength;
      if (seen > length) controller.error(incomplete("more bytes"));
      else controller.enqueue(chunk);
    },
    flush(controller) {
      if (seen < length) controller.error(incomplete("fewer bytes"));
    },
  });
  const { readable, writable } = new FixedLengthStream(length);
  const stop = new AbortController();
  const stopped = new Error("the copy was stopped");
  const copied: Promise<unknown> = source
    .pipeThrough(counted)
    .pipeTo(writable, { signal: stop.signal })
    .then(
      () => undefined,
      // Stopping is the caller's doing, not a failure of the copy.
      (err: unknown) => (err === stopped ? undefined : err),
    );
  return { readable, copied, stop: () => stop.abort(stopped) };
}

/** Reads a body for the `ObjectBody` helpers. */
export const bodyHelpers = (body: ReadableStream<Uint8Array>) => ({
  text: () => new Response(body).text(),
  arrayBuffer: () => new Response(body).arrayBuffer(),
});
