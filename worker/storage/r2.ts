/**
 * The R2 binding as an ObjectStore (the default backend; wrangler embeds it locally). Presigned
 * URLs need R2's S3 API, so they are made by an S3 store over the same bucket when one is given.
 */
import {
  type ByteRange,
  bareEtag,
  bodyHelpers,
  checkKey,
  checkRange,
  MAX_KEYS_PER_REQUEST,
  type MultipartUpload,
  type ObjectBody,
  type ObjectInfo,
  type ObjectStore,
  type PutOptions,
  StorageError,
  type StoredBytes,
  type UploadedPart,
  withExactLength,
} from "./store";

/** R2's numbered errors (the number ends the message) as S3 codes. */
const R2_ERRORS: Record<string, [status: number, code: string]> = {
  "10001": [500, "InternalError"],
  "10007": [404, "NoSuchKey"],
  "10011": [400, "EntityTooSmall"],
  "10020": [400, "InvalidObjectName"],
  "10024": [404, "NoSuchUpload"],
  "10025": [400, "InvalidPart"],
  "10039": [416, "InvalidRange"],
  "10043": [503, "ServiceUnavailable"],
  // All parts but the last must have the same size (R2's rule; S3 has none like it).
  "10048": [400, "InvalidPart"],
  "10058": [429, "SlowDown"],
};

function storageError(err: unknown, key: string): StorageError {
  if (err instanceof StorageError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const number = /\((\d{5})\)\s*$/.exec(message)?.[1];
  const [status, code] = (number && R2_ERRORS[number]) || [500, "InternalError"];
  return new StorageError("r2", status, code, message, { key, cause: err });
}

async function attempt<T>(key: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    throw storageError(err, key);
  }
}

const info = (object: R2Object): ObjectInfo => ({
  key: object.key,
  size: object.size,
  etag: object.etag,
  httpEtag: object.httpEtag,
  contentType: object.httpMetadata?.contentType,
  uploaded: object.uploaded,
});

/** Stores a stream through a FixedLengthStream of its length: R2 then takes it as it arrives. */
async function withKnownLength<T>(
  source: ReadableStream<Uint8Array>,
  length: number,
  store: (body: ReadableStream<Uint8Array>) => Promise<T>,
): Promise<T> {
  const { readable, copied, stop } = withExactLength("r2", source, length);
  try {
    const stored = await store(readable);
    const copyError = await copied;
    if (copyError) throw copyError;
    return stored;
  } catch (err) {
    stop();
    // The copy's own error (a short body) says more than R2's about the broken stream.
    throw (await copied) ?? err;
  }
}

export interface R2StoreOptions {
  /** Makes presigned URLs for this bucket (its S3 endpoint); without it `canPresign` is false. */
  presigner?: Pick<ObjectStore, "presignUploadPart" | "presignGet">;
}

export function createR2Store(bucket: R2Bucket, options: R2StoreOptions = {}): ObjectStore {
  const { presigner } = options;

  const multipart = (upload: R2MultipartUpload): MultipartUpload => ({
    key: upload.key,
    uploadId: upload.uploadId,
    uploadPart(partNumber: number, body: StoredBytes | ReadableStream<Uint8Array>, length?: number) {
      return attempt(upload.key, async () => {
        const uploaded =
          body instanceof ReadableStream
            ? await withKnownLength(body, length ?? Number.NaN, (known) => upload.uploadPart(partNumber, known))
            : await upload.uploadPart(partNumber, body);
        return { partNumber: uploaded.partNumber, etag: uploaded.etag };
      });
    },
    complete: (parts: UploadedPart[]) =>
      attempt(upload.key, async () =>
        // R2 compares ETags as it issued them: without quotes.
        info(await upload.complete(parts.map((p) => ({ partNumber: p.partNumber, etag: bareEtag(p.etag) })))),
      ),
    abort: () =>
      attempt(upload.key, () => upload.abort()).catch((err: unknown) => {
        if (!(err instanceof StorageError && err.code === "NoSuchUpload")) throw err;
      }),
  });

  const noPresigning = () =>
    new StorageError(
      "r2",
      501,
      "NotImplemented",
      "Presigned URLs need R2's S3 API: set S3_ENDPOINT (https://<account id>.r2.cloudflarestorage.com), S3_BUCKET, S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY",
    );

  return {
    backend: "r2",
    canPresign: presigner !== undefined,

    head: (key) =>
      attempt(key, async () => {
        const object = await bucket.head(key);
        return object ? info(object) : null;
      }),

    get(key, { range }: { range?: ByteRange } = {}) {
      return attempt(key, async (): Promise<ObjectBody | null> => {
        checkRange("r2", key, range);
        const pastTheEnd = () =>
          new StorageError("r2", 416, "InvalidRange", `Byte ${range?.offset} lies past the end of ${key}`, { key });
        let object: R2ObjectBody | null;
        try {
          object = await bucket.get(key, range ? { range: { offset: range.offset, length: range.length } } : {});
        } catch (err) {
          // R2 refuses a range that starts past the end (the local runtime without saying why).
          const head = range ? await bucket.head(key) : null;
          if (head && range && range.offset >= head.size) throw pastTheEnd();
          throw err;
        }
        if (!object) return null;
        const offset = range?.offset ?? 0;
        if (range && offset >= object.size && object.size > 0) {
          await object.body.cancel();
          throw pastTheEnd();
        }
        const length = Math.max(0, Math.min(range?.length ?? object.size, object.size - offset));
        return { ...info(object), body: object.body, range: { offset, length }, ...bodyHelpers(object.body) };
      });
    },

    put(key: string, body: StoredBytes | ReadableStream<Uint8Array>, options: PutOptions & { length?: number } = {}) {
      return attempt(key, async () => {
        checkKey("r2", key);
        const httpMetadata = options.contentType ? { contentType: options.contentType } : undefined;
        const stored =
          body instanceof ReadableStream
            ? await withKnownLength(body, options.length ?? Number.NaN, (known) =>
                bucket.put(key, known, { httpMetadata }),
              )
            : await bucket.put(key, body, { httpMetadata });
        if (!stored) throw new StorageError("r2", 412, "PreconditionFailed", `${key} was not stored`, { key });
        return info(stored);
      });
    },

    async delete(keys) {
      const all = typeof keys === "string" ? [keys] : [...new Set(keys)];
      for (let i = 0; i < all.length; i += MAX_KEYS_PER_REQUEST) {
        const batch = all.slice(i, i + MAX_KEYS_PER_REQUEST);
        await attempt(batch[0] ?? "", () => bucket.delete(batch));
      }
    },

    list({ prefix, cursor, limit } = {}) {
      return attempt(prefix ?? "", async () => {
        const page = await bucket.list({
          prefix,
          cursor,
          limit: Math.min(limit ?? MAX_KEYS_PER_REQUEST, MAX_KEYS_PER_REQUEST),
        });
        return {
          objects: page.objects.map((o) => ({ key: o.key, size: o.size, etag: o.etag, uploaded: o.uploaded })),
          truncated: page.truncated,
          cursor: page.truncated ? page.cursor : undefined,
        };
      });
    },

    createMultipartUpload(key, options = {}) {
      return attempt(key, async () => {
        checkKey("r2", key);
        const httpMetadata = options.contentType ? { contentType: options.contentType } : undefined;
        return multipart(await bucket.createMultipartUpload(key, { httpMetadata }));
      });
    },

    resumeMultipartUpload: (key, uploadId) => multipart(bucket.resumeMultipartUpload(key, uploadId)),

    async presignUploadPart(key, uploadId, partNumber, expiresInSeconds) {
      if (!presigner) throw noPresigning();
      return presigner.presignUploadPart(key, uploadId, partNumber, expiresInSeconds);
    },

    async presignGet(key, expiresInSeconds) {
      if (!presigner) throw noPresigning();
      return presigner.presignGet(key, expiresInSeconds);
    },
  };
}
