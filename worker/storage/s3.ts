/**
 * Any S3-compatible bucket as an ObjectStore (AWS S3, R2's S3 endpoint, MinIO, Backblaze B2,
 * Wasabi), over fetch with Signature V4 from aws4fetch.
 *
 * Bodies stream both ways: a GET answers as soon as the headers arrive, and a streamed PUT goes
 * out through a FixedLengthStream, so the request carries Content-Length (S3 refuses chunked
 * uploads without it) and sends bytes as they are read. aws4fetch signs S3 requests with
 * `UNSIGNED-PAYLOAD`, so it never reads a body to hash it; the connection is TLS's to protect.
 */
import { AwsClient } from "aws4fetch";
import {
  type ByteRange,
  bareEtag,
  bodyHelpers,
  checkKey,
  checkRange,
  type ListPage,
  MAX_KEYS_PER_REQUEST,
  MAX_PRESIGN_SECONDS,
  type MultipartUpload,
  type ObjectInfo,
  type ObjectStore,
  type PutOptions,
  quotedEtag,
  StorageError,
  type StoredBytes,
  type UploadedPart,
  withExactLength,
} from "./store";
import { xmlElements, xmlEscape, xmlText } from "./xml";

export interface S3StoreConfig {
  /** The service's origin, e.g. `https://s3.eu-west-1.amazonaws.com`; empty for AWS in `region`. */
  endpoint: string;
  region: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** `https://host/bucket/key` instead of `https://bucket.host/key` (MinIO and most local servers). */
  forcePathStyle: boolean;
  /** The clock that dates signatures (tests pin it to check published examples). */
  now?: () => Date;
}

/** RFC 3986 encoding, as Signature V4 canonicalises: everything but `A-Za-z0-9-._~`. */
export const encodeRfc3986 = (text: string): string =>
  encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

const encodeKey = (key: string): string => key.split("/").map(encodeRfc3986).join("/");

const queryString = (query: Record<string, string | undefined>): string =>
  Object.entries(query)
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([name, value]) => (value === "" ? encodeRfc3986(name) : `${encodeRfc3986(name)}=${encodeRfc3986(value)}`))
    .join("&");

/** `https://s3.<region>.amazonaws.com` when no endpoint is set. */
export function s3BaseUrl(config: Pick<S3StoreConfig, "endpoint" | "region">): URL {
  const endpoint = config.endpoint.trim() || `https://s3.${config.region}.amazonaws.com`;
  return new URL(endpoint.endsWith("/") ? endpoint : `${endpoint}/`);
}

/** The URL of an object (or, with no key, of the bucket), in the configured addressing style. */
export function s3Url(
  config: Pick<S3StoreConfig, "endpoint" | "region" | "bucket" | "forcePathStyle">,
  key: string | undefined,
  query: Record<string, string | undefined> = {},
): URL {
  const url = s3BaseUrl(config);
  const objectPath = key === undefined ? "" : encodeKey(key);
  if (config.forcePathStyle) {
    url.pathname = `${url.pathname}${encodeRfc3986(config.bucket)}${key === undefined ? "" : `/${objectPath}`}`;
  } else {
    url.hostname = `${config.bucket}.${url.hostname}`;
    url.pathname = `${url.pathname}${objectPath}`;
  }
  url.search = queryString(query);
  return url;
}

const amzDate = (date: Date) => date.toISOString().replace(/[:-]|\.\d{3}/g, "");

type Body = StoredBytes | ReadableStream<Uint8Array>;

interface Call {
  method: string;
  key?: string;
  query?: Record<string, string | undefined>;
  headers?: Record<string, string>;
  body?: Body;
  /** The exact length of a streamed body. */
  length?: number;
}

/** 5xx answers and network failures of requests without a streamed body are retried this often. */
const RETRIES = 2;

export function createS3Store(config: S3StoreConfig): ObjectStore {
  const client = new AwsClient({
    accessKeyId: config.accessKeyId,
    secretAccessKey: config.secretAccessKey,
    service: "s3",
    region: config.region,
    retries: 0,
  });
  const datetime = () => (config.now ? amzDate(config.now()) : undefined);

  async function send(call: Call): Promise<Response> {
    const url = s3Url(config, call.key, call.query).toString();
    if (call.body instanceof ReadableStream) return sendStream(url, call, call.body);
    for (let attemptNumber = 0; ; attemptNumber++) {
      const retry = attemptNumber < RETRIES;
      try {
        const res = await fetch(await sign(url, call, call.body));
        if (!retry || (res.status < 500 && res.status !== 429)) return res;
        await res.body?.cancel();
      } catch (err) {
        if (!retry) throw unreachable(call, err);
      }
      await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** attemptNumber));
    }
  }

  /** A streamed body is sent once: it cannot be read again for a retry. */
  async function sendStream(url: string, call: Call, source: ReadableStream<Uint8Array>): Promise<Response> {
    const { readable, copied, stop } = withExactLength("s3", source, call.length ?? Number.NaN);
    let res: Response;
    try {
      res = await fetch(await sign(url, call, readable));
    } catch (err) {
      stop();
      // The copy's own error (a short body) says more than the broken connection.
      throw (await copied) ?? unreachable(call, err);
    }
    // An early refusal leaves the rest of the source unread.
    if (!res.ok) stop();
    const copyError = await copied;
    if (res.ok && copyError) throw copyError;
    return res;
  }

  const sign = (url: string, call: Call, body: BodyInit | undefined) =>
    client.sign(url, { method: call.method, headers: call.headers, body, aws: { datetime: datetime() } });

  const unreachable = (call: Call, err: unknown) =>
    new StorageError("s3", 503, "ServiceUnavailable", `The bucket could not be reached: ${String(err)}`, {
      key: call.key,
      cause: err,
    });

  /** Turns an error answer into a StorageError (S3 puts the code in an XML body; HEAD has none). */
  async function failure(res: Response, key: string | undefined, text?: string): Promise<StorageError> {
    const xml = text ?? (await res.text().catch(() => ""));
    const code = xmlText(xml, "Code") ?? codeForStatus(res.status);
    const message = xmlText(xml, "Message") ?? `${res.status} ${res.statusText}`.trim();
    return new StorageError("s3", res.status >= 200 && res.status < 300 ? 500 : res.status, code, message, { key });
  }

  /** Sends a call and answers its body as text, throwing on an error answer (also one inside a 200). */
  async function sendForXml(call: Call): Promise<{ res: Response; xml: string }> {
    const res = await send(call);
    const xml = await res.text();
    if (!res.ok || /^\s*(<\?xml[^>]*>\s*)?<Error>/.test(xml)) throw await failure(res, call.key, xml);
    return { res, xml };
  }

  const infoFrom = (key: string, headers: Headers, size: number): ObjectInfo => {
    const etag = bareEtag(headers.get("etag") ?? "");
    const modified = headers.get("last-modified");
    return {
      key,
      size,
      etag,
      httpEtag: quotedEtag(etag),
      contentType: headers.get("content-type") ?? undefined,
      uploaded: modified ? new Date(modified) : undefined,
    };
  };

  async function head(key: string): Promise<ObjectInfo | null> {
    const res = await send({ method: "HEAD", key });
    if (res.status === 404) return null;
    if (!res.ok) throw await failure(res, key, "");
    return infoFrom(key, res.headers, Number(res.headers.get("content-length") ?? 0));
  }

  async function putBytes(call: Call & { key: string }): Promise<Response> {
    const res = await send({
      ...call,
      body: typeof call.body === "string" ? new TextEncoder().encode(call.body) : call.body,
    });
    if (!res.ok) throw await failure(res, call.key);
    await res.body?.cancel();
    return res;
  }

  const bodyLength = (body: StoredBytes | ReadableStream<Uint8Array>, length: number | undefined): number =>
    body instanceof ReadableStream
      ? (length ?? Number.NaN)
      : typeof body === "string"
        ? new TextEncoder().encode(body).length
        : body.byteLength;

  const multipart = (key: string, uploadId: string): MultipartUpload => ({
    key,
    uploadId,
    async uploadPart(partNumber: number, body: Body, length?: number) {
      const res = await putBytes({
        method: "PUT",
        key,
        query: { partNumber: String(partNumber), uploadId },
        body,
        length,
      });
      return { partNumber, etag: res.headers.get("etag") ?? "" };
    },
    async complete(parts: UploadedPart[]) {
      const xml = `<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${parts
        .map(
          (p) => `<Part><PartNumber>${p.partNumber}</PartNumber><ETag>${xmlEscape(quotedEtag(p.etag))}</ETag></Part>`,
        )
        .join("")}</CompleteMultipartUpload>`;
      await sendForXml({
        method: "POST",
        key,
        query: { uploadId },
        headers: { "content-type": "application/xml" },
        body: xml,
      });
      // The answer names the ETag but not the size.
      const stored = await head(key);
      if (!stored)
        throw new StorageError("s3", 500, "InternalError", `${key} is missing after its upload completed`, { key });
      return stored;
    },
    async abort() {
      const res = await send({ method: "DELETE", key, query: { uploadId } });
      if (res.ok || res.status === 404) {
        await res.body?.cancel();
        return;
      }
      throw await failure(res, key);
    },
  });

  async function presign(method: string, key: string, query: Record<string, string>, expiresInSeconds: number) {
    if (!Number.isInteger(expiresInSeconds) || expiresInSeconds < 1 || expiresInSeconds > MAX_PRESIGN_SECONDS) {
      throw new StorageError(
        "s3",
        400,
        "InvalidArgument",
        `A presigned URL lasts 1 to ${MAX_PRESIGN_SECONDS} seconds`,
        {
          key,
        },
      );
    }
    checkKey("s3", key);
    const url = s3Url(config, key, { ...query, "X-Amz-Expires": String(expiresInSeconds) });
    const signed = await client.sign(url.toString(), { method, aws: { signQuery: true, datetime: datetime() } });
    return signed.url;
  }

  return {
    backend: "s3",
    canPresign: true,
    head,

    async get(key, { range }: { range?: ByteRange } = {}) {
      checkRange("s3", key, range);
      const headers: Record<string, string> = {};
      if (range) {
        const end = range.length === undefined ? "" : String(range.offset + range.length - 1);
        headers.range = `bytes=${range.offset}-${end}`;
      }
      const res = await send({ method: "GET", key, headers });
      if (!res.ok) {
        const text = await res.text().catch(() => "");
        // A missing bucket is a configuration error, not a missing object.
        if (res.status === 404 && xmlText(text, "Code") !== "NoSuchBucket") return null;
        throw await failure(res, key, text);
      }
      const body = res.body ?? new Response("").body;
      if (!body) throw new StorageError("s3", 502, "InvalidResponse", `No body came with ${key}`, { key });
      const contentLength = Number(res.headers.get("content-length") ?? 0);
      const contentRange = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(res.headers.get("content-range") ?? "");
      let size = contentLength;
      let offset = 0;
      let length = contentLength;
      if (res.status === 206 && contentRange) {
        offset = Number(contentRange[1]);
        length = Number(contentRange[2]) - offset + 1;
        size = Number(contentRange[3]);
      } else if (range && (range.offset > 0 || (range.length !== undefined && range.length < contentLength))) {
        // The whole object came back for a part of it: the server ignored Range.
        await body.cancel();
        throw new StorageError("s3", 502, "InvalidResponse", `The bucket answered all of ${key} for a byte range`, {
          key,
        });
      }
      return { ...infoFrom(key, res.headers, size), body, range: { offset, length }, ...bodyHelpers(body) };
    },

    async put(key: string, body: Body, options: PutOptions & { length?: number } = {}) {
      checkKey("s3", key);
      const headers: Record<string, string> = options.contentType ? { "content-type": options.contentType } : {};
      const res = await putBytes({ method: "PUT", key, headers, body, length: options.length });
      const info = infoFrom(key, res.headers, bodyLength(body, options.length));
      return { ...info, contentType: options.contentType, uploaded: undefined };
    },

    async delete(keys) {
      const all = typeof keys === "string" ? [keys] : [...new Set(keys)];
      if (all.length === 1 && all[0] !== undefined) {
        const res = await send({ method: "DELETE", key: all[0] });
        if (!res.ok && res.status !== 404) throw await failure(res, all[0]);
        await res.body?.cancel();
        return;
      }
      for (let i = 0; i < all.length; i += MAX_KEYS_PER_REQUEST) {
        const batch = all.slice(i, i + MAX_KEYS_PER_REQUEST);
        const xml = `<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Quiet>true</Quiet>${batch
          .map((key) => `<Object><Key>${xmlEscape(key)}</Key></Object>`)
          .join("")}</Delete>`;
        const bytes = new TextEncoder().encode(xml);
        // DeleteObjects is the one S3 call that must prove its body's integrity (Content-MD5).
        const md5 = new Uint8Array(await crypto.subtle.digest("MD5", bytes));
        const { xml: answer } = await sendForXml({
          method: "POST",
          query: { delete: "" },
          headers: { "content-type": "application/xml", "content-md5": btoa(String.fromCharCode(...md5)) },
          body: bytes,
        });
        const [failed] = xmlElements(answer, "Error");
        if (failed !== undefined) {
          const key = xmlText(failed, "Key");
          throw new StorageError(
            "s3",
            500,
            xmlText(failed, "Code") ?? "InternalError",
            `${key ?? "A key"} was not deleted: ${xmlText(failed, "Message") ?? "no reason given"}`,
            { key },
          );
        }
      }
    },

    async list({ prefix, cursor, limit } = {}): Promise<ListPage> {
      const { xml } = await sendForXml({
        method: "GET",
        query: {
          "list-type": "2",
          prefix: prefix || undefined,
          "continuation-token": cursor,
          "max-keys": String(Math.min(limit ?? MAX_KEYS_PER_REQUEST, MAX_KEYS_PER_REQUEST)),
        },
      });
      const truncated = xmlText(xml, "IsTruncated") === "true";
      return {
        objects: xmlElements(xml, "Contents").map((entry) => {
          const modified = xmlText(entry, "LastModified");
          return {
            key: xmlText(entry, "Key") ?? "",
            size: Number(xmlText(entry, "Size") ?? 0),
            etag: bareEtag(xmlText(entry, "ETag") ?? ""),
            uploaded: modified ? new Date(modified) : undefined,
          };
        }),
        truncated,
        cursor: truncated ? xmlText(xml, "NextContinuationToken") : undefined,
      };
    },

    async createMultipartUpload(key, options = {}) {
      checkKey("s3", key);
      const { xml } = await sendForXml({
        method: "POST",
        key,
        query: { uploads: "" },
        headers: options.contentType ? { "content-type": options.contentType } : {},
      });
      const uploadId = xmlText(xml, "UploadId");
      if (!uploadId) throw new StorageError("s3", 502, "InvalidResponse", `No upload id came for ${key}`, { key });
      return multipart(key, uploadId);
    },

    resumeMultipartUpload: multipart,

    presignUploadPart: (key, uploadId, partNumber, expiresInSeconds) =>
      presign("PUT", key, { partNumber: String(partNumber), uploadId }, expiresInSeconds),

    presignGet: (key, expiresInSeconds) => presign("GET", key, {}, expiresInSeconds),
  };
}

/** The S3 code an error answer without a body (HEAD) stands for. */
function codeForStatus(status: number): string {
  const codes: Record<number, string> = {
    400: "BadRequest",
    403: "AccessDenied",
    404: "NoSuchKey",
    405: "MethodNotAllowed",
    409: "Conflict",
    412: "PreconditionFailed",
    416: "InvalidRange",
    429: "SlowDown",
    501: "NotImplemented",
    503: "ServiceUnavailable",
  };
  return codes[status] ?? (status >= 500 ? "InternalError" : "BadRequest");
}
