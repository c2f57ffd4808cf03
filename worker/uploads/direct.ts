/**
 * Uploads straight to the bucket: the client PUTs the parts of a session's multipart upload to
 * presigned URLs, so the Worker never carries the bytes, and then hands over each part's ETag.
 * Completing checks what the Worker did not see: the size, and the first bytes (a ranged GET),
 * which must be a container the declared type allows. Every refusal drops the upload whole (its
 * parts, its object, its rows), as a refused tus upload is dropped.
 */
import { ApiError } from "../app/errors";
import { sourceKey } from "../storage/keys";
import {
  MAX_PARTS,
  MAX_PRESIGN_SECONDS,
  MIN_PART_SIZE,
  type ObjectStore,
  StorageError,
  type UploadedPart,
} from "../storage/store";
import type { UploadPolicy } from "./policy";
import type { SessionStore, UploadSession } from "./session";
import { SNIFF_BYTES } from "./sniff";
import { dropVideoUpload } from "./video-upload";

const MiB = 1024 * 1024;

/** How a file of `size` bytes is cut: parts of `partSize` (whole MiB, at least 5), the last smaller. */
export function planParts(size: number, preferredPartSize = 10 * MiB): { partSize: number; partCount: number } {
  const least = Math.max(MIN_PART_SIZE, preferredPartSize, Math.ceil(size / MAX_PARTS));
  const partSize = Math.ceil(least / MiB) * MiB;
  return { partSize, partCount: Math.max(1, Math.ceil(size / partSize)) };
}

/** 501 unless the store can sign URLs, saying what to set. */
export function requirePresigning(store: ObjectStore): void {
  if (store.canPresign) return;
  throw new ApiError(
    "not_implemented",
    "Direct uploads need the S3 API: set STORAGE_BACKEND=s3 with S3_BUCKET, S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY, or give the R2 bucket's S3 endpoint and keys (S3_ENDPOINT, S3_BUCKET, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY)",
  );
}

/** Presigned PUT URLs for parts `numbers` of the session's upload, valid for `expiresInSeconds`. */
export async function presignParts(
  store: ObjectStore,
  session: UploadSession,
  numbers: number[],
  expiresInSeconds: number,
): Promise<{ number: number; url: string }[]> {
  requirePresigning(store);
  const seconds = Math.min(Math.max(1, Math.floor(expiresInSeconds)), MAX_PRESIGN_SECONDS);
  return Promise.all(
    numbers.map(async (number) => ({
      number,
      url: await store.presignUploadPart(sourceKey(session.videoId), session.uploadId, number, seconds),
    })),
  );
}

const refused = (message: string, path = "parts") =>
  new ApiError("validation_error", "The upload cannot be completed", { details: [{ path, message }] });

/**
 * Completes a direct upload from the client's part list: the parts must be 1…n in order (n from
 * the session's length and part size), the bucket must accept their ETags, the object must have
 * the declared length, and its first bytes must pass the policy's head check. Any refusal drops
 * the upload and throws the `ApiError` a client gets.
 */
export async function completeDirectUpload(
  store: SessionStore,
  session: UploadSession,
  parts: UploadedPart[],
  policy: Pick<UploadPolicy, "checkHead">,
  partSize: number,
): Promise<void> {
  const length = session.length ?? 0;
  const expected = Math.max(1, Math.ceil(length / partSize));
  try {
    if (parts.length !== expected || parts.some((p, i) => p.partNumber !== i + 1)) {
      throw refused(`Expected parts 1 to ${expected} in order, each with its ETag`);
    }
    try {
      await session.finishWithParts(parts);
    } catch (err) {
      if (err instanceof StorageError && err.status >= 400 && err.status < 500) {
        throw refused(`The bucket refused the parts (${err.code}): a part is missing, or an ETag is not its part's`);
      }
      throw err;
    }
    if (session.offset !== length) {
      throw new ApiError("validation_error", "The upload cannot be completed", {
        details: [{ path: "size", message: `The parts hold ${session.offset} bytes, not the ${length} announced` }],
      });
    }
    const head = await store.storage.get(sourceKey(session.videoId), { range: { offset: 0, length: SNIFF_BYTES } });
    const bytes = head ? new Uint8Array(await head.arrayBuffer()) : new Uint8Array(0);
    policy.checkHead(session.metadata.filetype, bytes);
  } catch (err) {
    if (err instanceof ApiError) await dropVideoUpload(store, session);
    throw err;
  }
}
