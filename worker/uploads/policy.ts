/**
 * What an upload must be to be kept, the same for every way in (the classic form, tus, and any
 * later one): valid descriptive fields, an accepted declared type, first bytes that are such a
 * container, and a size within MAX_UPLOAD_SIZE and the owner's storage quota. Each rule is checked
 * here and refuses with the answer users see: 400 `validation_error` with `details`, 415
 * `unsupported_media_type`, 413 `payload_too_large`.
 *
 * The size rule is one: what the owner already stores (every other video at its size, unfinished
 * uploads at their declared length) plus this upload must fit the quota. It is checked on the
 * best size known: a declared length up front, and the bytes received as they arrive.
 */
import { and, eq, ne, sql } from "drizzle-orm";
import { ApiError } from "../app/errors";
import type { Settings } from "../app/settings";
import type { Database } from "../db/client";
import { videos } from "../db/schema";
import { parseUploadFields, type UploadFields } from "./fields";
import type { WriteChecks } from "./session";
import { ACCEPTED_TYPES_TEXT, checkDeclaredType, isAcceptableDeclaredType } from "./sniff";

export interface UploadPolicy {
  readonly maxSize: number;
  /** Bytes of sources the owner may store; 0 means no quota. */
  readonly quota: number;
  /** Parses the descriptive fields (form fields or tus metadata, as `source` says); 400 if invalid. */
  checkFields(raw: Record<string, string | null | undefined>, source: "fields" | "metadata"): UploadFields;
  /** 415 unless the declared type is an accepted video type (or says nothing, like octet-stream). */
  checkType(declared: string | null | undefined): void;
  /** 413 when an upload of `bytes` is above MAX_UPLOAD_SIZE or would not fit the quota. */
  checkSize(bytes: number): void;
  /** 415 unless the first bytes are a container the declared type allows; 400 if there are none. */
  checkHead(declared: string | null | undefined, head: Uint8Array): void;
  /** The size and head rules, for a session writer to apply to the bytes as they arrive. */
  writeChecks(declared: string | null | undefined): WriteChecks;
}

/**
 * The policy for one user's upload. `except` names the upload's own video when it already has a
 * row (a tus upload being written), so its declared length is not counted twice.
 */
export async function loadUploadPolicy(
  db: Database,
  settings: Settings,
  userId: string,
  options: { except?: string } = {},
): Promise<UploadPolicy> {
  const maxSize = settings.maxUploadSize;
  const quota = settings.userStorageQuotaBytes;
  const used = quota > 0 ? await storedBytes(db, userId, options.except) : 0;
  const policy: UploadPolicy = {
    maxSize,
    quota,
    checkFields: (raw, source) => checkUploadFields(raw, source, settings),
    checkType(declared) {
      if (!isAcceptableDeclaredType(declared)) {
        throw new ApiError(
          "unsupported_media_type",
          `${declared} is not an accepted video type (${ACCEPTED_TYPES_TEXT})`,
        );
      }
    },
    checkSize(bytes) {
      if (bytes > maxSize) throw new ApiError("payload_too_large", `An upload is at most ${maxSize} bytes`);
      if (quota > 0 && used + bytes > quota) {
        throw new ApiError("payload_too_large", `This upload would exceed your storage quota of ${quota} bytes`);
      }
    },
    checkHead(declared, head) {
      if (head.length === 0) {
        throw new ApiError("validation_error", "Invalid upload fields", {
          details: [{ path: "file", message: "The file is empty" }],
        });
      }
      const check = checkDeclaredType(declared, head);
      if (!check.ok) throw new ApiError("unsupported_media_type", check.message);
    },
    writeChecks(declared) {
      return { size: (bytes) => policy.checkSize(bytes), head: (head) => policy.checkHead(declared, head) };
    },
  };
  return policy;
}

/** The fields rule alone (it needs no look-up): 400 `validation_error` with `details` if invalid. */
export function checkUploadFields(
  raw: Record<string, string | null | undefined>,
  source: "fields" | "metadata",
  settings: Settings,
): UploadFields {
  const parsed = parseUploadFields(raw, settings);
  if (!parsed.ok) throw new ApiError("validation_error", `Invalid upload ${source}`, { details: parsed.errors });
  return parsed.value;
}

/** Bytes of sources the user keeps (unfinished uploads at their declared length), but `except`'s. */
export async function storedBytes(db: Database, userId: string, except?: string): Promise<number> {
  const row = await db
    .select({ total: sql<number>`coalesce(sum(${videos.size}), 0)` })
    .from(videos)
    .where(except ? and(eq(videos.ownerId, userId), ne(videos.id, except)) : eq(videos.ownerId, userId))
    .get();
  return Number(row?.total ?? 0);
}
