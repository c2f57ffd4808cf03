/**
 * A real S3-compatible server for tests: s3rver (the S3 HTTP API over a folder), listening on
 * 127.0.0.1 with one bucket (with the CORS rule browsers need to PUT parts to it).
 *
 * s3rver accepts any Signature V4 signature (signing is checked against AWS's published test
 * vectors instead) but knows only its own access key, `S3RVER`. It lacks a few operations the
 * platform relies on; they are added here as AWS documents them, so the S3 backend is tested
 * against the answers a real bucket gives:
 * - AbortMultipartUpload (DELETE ?uploadId): s3rver answers 405.
 * - NoSuchUpload for parts and completions of an upload that does not exist (s3rver creates it,
 *   or fails with a 500).
 * - CompleteMultipartUpload checks the listed parts: each must exist with the ETag given
 *   (InvalidPart), in ascending order (InvalidPartOrder), and all but the last must be at least
 *   5 MiB (EntityTooSmall). s3rver concatenates whatever it has.
 * - DeleteObjects requires a Content-MD5 that matches its body (InvalidRequest, BadDigest).
 * - ListObjectsV2 continuation tokens: s3rver encrypts them with DES, which current OpenSSL no
 *   longer offers, so a truncated listing fails; here the listing is s3rver's with a plain token.
 *
 * `GET /__probe?path=/<bucket>/<key>` answers how many bytes the connection of the latest request
 * for that path (one containing "probe") has read and written since it began, and its length
 * headers, for tests that check a body streams.
 */

import { createHash } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { access, readFile, rm, stat } from "node:fs/promises";
import { createServer, type IncomingMessage } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo, Socket } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import type S3rver from "s3rver";
import type S3ErrorClass from "s3rver/lib/models/error.js";

// s3rver is CommonJS: its error class must be the one it checks with instanceof.
const require = createRequire(import.meta.url);
const S3rverServer = require("s3rver") as typeof S3rver;
const S3Error = require("s3rver/lib/models/error.js") as typeof S3ErrorClass;

export const S3_TEST_BUCKET = "streambuddy-test";
/** s3rver's built-in account. */
export const S3_TEST_ACCESS_KEY_ID = "S3RVER";
export const S3_TEST_SECRET_ACCESS_KEY = "S3RVER";
const MIN_PART_SIZE = 5 * 1024 * 1024;

/** The bucket CORS rule the README asks for, so the web app can PUT parts and read their ETags. */
const BROWSER_UPLOADS_CORS = `<CORSConfiguration>
  <CORSRule>
    <AllowedOrigin>*</AllowedOrigin>
    <AllowedMethod>PUT</AllowedMethod>
    <AllowedHeader>content-type</AllowedHeader>
    <ExposeHeader>ETag</ExposeHeader>
    <MaxAgeSeconds>3600</MaxAgeSeconds>
  </CORSRule>
</CORSConfiguration>`;

export interface S3TestServer {
  /** `http://127.0.0.1:<port>`: path-style addressing. */
  endpoint: string;
  close(): Promise<void>;
}

interface Probe {
  socket: Socket;
  read: number;
  written: number;
  headers: { "content-length"?: string; "transfer-encoding"?: string };
}

/**
 * Starts the server: on `port` (default: any free one), keeping objects in `directory` (default: a
 * temporary one, removed on close), with one bucket (default {@link S3_TEST_BUCKET}). `npm start`
 * runs it too, for trying the S3 backend with no bucket of one's own.
 */
export async function startS3TestServer(
  options: { port?: number; directory?: string; bucket?: string } = {},
): Promise<S3TestServer> {
  const directory = options.directory ?? mkdtempSync(path.join(tmpdir(), "streambuddy-s3-"));
  const s3 = new S3rverServer({
    silent: true,
    directory,
    vhostBuckets: false,
    configureBuckets: [{ name: options.bucket ?? S3_TEST_BUCKET, configs: [BROWSER_UPLOADS_CORS] }],
  });
  await s3.configureBuckets();
  // Before the router, after s3rver's own request handling (logging, XML answers, path rewriting).
  s3.middleware.splice(s3.middleware.length - 1, 0, asAwsDoes(s3));
  const handle = s3.callback();

  const probes = new Map<string, Probe>();
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    if (url.pathname === "/__probe") {
      const probe = probes.get(url.searchParams.get("path") ?? "");
      res.setHeader("content-type", "application/json");
      res.end(
        JSON.stringify(
          probe
            ? {
                read: probe.socket.bytesRead - probe.read,
                written: probe.socket.bytesWritten - probe.written,
                headers: probe.headers,
              }
            : null,
        ),
      );
      return;
    }
    if (url.pathname.includes("probe")) {
      probes.set(url.pathname, {
        socket: req.socket,
        read: req.socket.bytesRead,
        written: req.socket.bytesWritten,
        headers: {
          "content-length": req.headers["content-length"],
          "transfer-encoding": req.headers["transfer-encoding"],
        },
      });
    }
    handle(req, res);
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (!options.directory) await rm(directory, { recursive: true, force: true });
    },
  };
}

type Context = Parameters<S3rver["middleware"][number]>[0];

/** Hands s3rver a body this middleware has already read. */
function replayBody(ctx: Context, body: string) {
  ctx.req = Object.assign(Readable.from([Buffer.from(body)]), {
    headers: ctx.req.headers,
  }) as unknown as typeof ctx.req;
}

function asAwsDoes(s3: S3rver) {
  return async function asAwsDoes(ctx: Context, next: () => Promise<void>): Promise<void> {
    const [, bucket = "", ...keyParts] = ctx.path.split("/");
    if (ctx.method === "GET" && keyParts.length === 0 && ctx.query["list-type"] === "2") {
      ctx.body = await listObjectsV2(s3, bucket, ctx.query);
      return;
    }
    if (ctx.method === "POST" && keyParts.length === 0 && "delete" in ctx.query) {
      const xml = await readAll(ctx.req);
      const md5 = ctx.req.headers["content-md5"];
      if (!md5) throw new S3Error("InvalidRequest", "Missing required header for this request: Content-MD5");
      if (md5 !== createHash("md5").update(xml).digest("base64")) {
        throw new S3Error("BadDigest", "The Content-MD5 you specified did not match what we received.");
      }
      replayBody(ctx, xml);
      return next();
    }
    const uploadId = ctx.query.uploadId;
    if (uploadId === undefined || keyParts.length === 0) return next();
    const uploadDir = path.join(s3.store.getResourcePath(bucket, undefined, "uploads"), path.basename(uploadId));
    const exists = await access(path.join(uploadDir, "key")).then(
      () => true,
      () => false,
    );
    if (!exists) {
      throw new S3Error("NoSuchUpload", "The specified upload does not exist.", { UploadId: uploadId });
    }
    if (ctx.method === "DELETE") {
      await rm(uploadDir, { recursive: true, force: true });
      ctx.status = 204;
      ctx.body = "";
      return;
    }
    if (ctx.method === "POST") {
      const xml = await readAll(ctx.req);
      await checkCompletion(uploadDir, xml);
      replayBody(ctx, xml);
    }
    return next();
  };
}

async function listObjectsV2(s3: S3rver, bucket: string, query: Record<string, string | undefined>) {
  if (!(await s3.store.getBucket(bucket))) {
    throw new S3Error("NoSuchBucket", "The specified bucket does not exist", { BucketName: bucket });
  }
  const token = query["continuation-token"];
  const startAfter = token ? Buffer.from(token, "base64url").toString("utf8") : query["start-after"];
  const maxKeys = Math.min(1000, Number(query["max-keys"] ?? 1000));
  const result = await s3.store.listObjects(bucket, {
    prefix: query.prefix,
    startAfter,
    maxKeys,
    delimiter: query.delimiter,
  });
  const last = result.objects.at(-1);
  // s3rver turns this into XML (escaping every value) as it does its own answers.
  return {
    ListBucketResult: {
      "@": { xmlns: "http://s3.amazonaws.com/doc/2006-03-01/" },
      Name: bucket,
      Prefix: query.prefix ?? "",
      ContinuationToken: token,
      NextContinuationToken: result.isTruncated && last ? Buffer.from(last.key).toString("base64url") : undefined,
      KeyCount: result.objects.length,
      MaxKeys: maxKeys,
      IsTruncated: result.isTruncated,
      Contents: result.objects.map((object) => ({
        Key: object.key,
        LastModified: object.lastModifiedDate.toISOString(),
        ETag: object.metadata.etag,
        Size: object.size,
        StorageClass: "STANDARD",
      })),
      CommonPrefixes: result.commonPrefixes.map((prefix) => ({ Prefix: prefix })),
    },
  };
}

async function checkCompletion(uploadDir: string, xml: string) {
  const parts = [...xml.matchAll(/<Part>([\s\S]*?)<\/Part>/g)].map((m) => ({
    number: Number(/<PartNumber>(\d+)<\/PartNumber>/.exec(m[1] ?? "")?.[1]),
    etag: (/<ETag>([\s\S]*?)<\/ETag>/.exec(m[1] ?? "")?.[1] ?? "").replace(/&quot;|"/g, ""),
  }));
  let previous = 0;
  for (const [index, part] of parts.entries()) {
    if (!(part.number > previous)) {
      throw new S3Error("InvalidPartOrder", "The list of parts was not in ascending order.");
    }
    previous = part.number;
    const file = path.join(uploadDir, String(part.number));
    const md5 = await readFile(`${file}.md5`, "utf8").catch(() => null);
    if (md5 === null || md5 !== part.etag) {
      throw new S3Error(
        "InvalidPart",
        "One or more of the specified parts could not be found. The part might not have been uploaded, or the specified entity tag might not have matched the part's entity tag.",
        { UploadId: path.basename(uploadDir), PartNumber: part.number, ETag: part.etag },
      );
    }
    const { size } = await stat(file);
    if (index < parts.length - 1 && size < MIN_PART_SIZE) {
      throw new S3Error("EntityTooSmall", "Your proposed upload is smaller than the minimum allowed object size.", {
        PartNumber: part.number,
        ProposedSize: size,
        MinSizeAllowed: MIN_PART_SIZE,
      });
    }
  }
}

async function readAll(req: IncomingMessage | NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString("utf8");
}
