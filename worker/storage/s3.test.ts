import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { freshPrefix, patternBytes, patternStream, readBytes, storageErrorOf, testS3Config } from "../testing/storage";
import { createR2Store } from "./r2";
import { createS3Store, s3Url } from "./s3";

const MiB = 1024 * 1024;

describe("S3 addressing", () => {
  const base = { region: "eu-west-1", bucket: "media" };

  it("puts the bucket in the host name by default, and in the path when forced", () => {
    const endpoint = "https://s3.eu-west-1.amazonaws.com";
    expect(s3Url({ ...base, endpoint, forcePathStyle: false }, "videos/a/b.m4s").toString()).toBe(
      "https://media.s3.eu-west-1.amazonaws.com/videos/a/b.m4s",
    );
    expect(s3Url({ ...base, endpoint, forcePathStyle: true }, "videos/a/b.m4s").toString()).toBe(
      "https://s3.eu-west-1.amazonaws.com/media/videos/a/b.m4s",
    );
  });

  it("uses AWS's endpoint for the region when none is set", () => {
    expect(s3Url({ ...base, endpoint: "", forcePathStyle: false }, "k").toString()).toBe(
      "https://media.s3.eu-west-1.amazonaws.com/k",
    );
  });

  it("addresses the bucket itself without a key, in both styles", () => {
    const endpoint = "http://127.0.0.1:9000/";
    expect(s3Url({ ...base, endpoint, forcePathStyle: true }, undefined, { "list-type": "2" }).toString()).toBe(
      "http://127.0.0.1:9000/media?list-type=2",
    );
    expect(
      s3Url({ ...base, endpoint: "https://acc.r2.cloudflarestorage.com", forcePathStyle: false }, undefined).toString(),
    ).toBe("https://media.acc.r2.cloudflarestorage.com/");
  });

  it("encodes every key segment as Signature V4 does, keeping the slashes", () => {
    const url = s3Url({ ...base, endpoint: "https://s3.example.test", forcePathStyle: true }, "dir/a b+c&d'(x)*~é", {
      prefix: "a b",
      delete: "",
    });
    expect(url.pathname).toBe("/media/dir/a%20b%2Bc%26d%27%28x%29%2A~%C3%A9");
    expect(url.search).toBe("?prefix=a%20b&delete");
  });
});

describe("S3 errors become the platform's own", () => {
  it("answers null for a missing object, but a missing bucket is an error, not a missing object", async () => {
    const store = createS3Store(testS3Config({ bucket: "no-such-bucket" }));
    expect(await storageErrorOf(store.get("anything"))).toMatchObject({ status: 404, code: "NoSuchBucket" });
    expect(await storageErrorOf(store.list({ prefix: "x/" }))).toMatchObject({ status: 404, code: "NoSuchBucket" });
    expect(await storageErrorOf(store.put("anything", "x"))).toMatchObject({ status: 404, code: "NoSuchBucket" });
    // A streamed body refused before it is read: the bucket's reason, not the stopped copy's.
    const streamed = store.put("anything", patternStream(MiB), { length: MiB });
    expect(await storageErrorOf(streamed)).toMatchObject({ status: 404, code: "NoSuchBucket" });
  });

  it("turns an unknown access key into AccessDenied-like StorageErrors with the server's code", async () => {
    const store = createS3Store(testS3Config({ accessKeyId: "NOT-A-KEY" }));
    const err = await storageErrorOf(store.put(`${freshPrefix("key")}x`, "x"));
    expect(err).toMatchObject({ status: 403, code: "InvalidAccessKeyId", backend: "s3" });
    expect(err.message).not.toContain("<");
    // HEAD answers have no body: the status alone names the failure.
    expect(await storageErrorOf(store.head("x"))).toMatchObject({ status: 403, code: "AccessDenied" });
  });

  it("reports an unreachable bucket as ServiceUnavailable", async () => {
    const store = createS3Store(testS3Config({ endpoint: "http://127.0.0.1:9" }));
    expect(await storageErrorOf(store.head("x"))).toMatchObject({ status: 503, code: "ServiceUnavailable" });
  });
});

describe("presigned URLs", () => {
  const store = createS3Store(testS3Config());

  it("let a client without keys PUT parts straight to the bucket; their ETags complete the upload", async () => {
    const key = `${freshPrefix("presigned")}source`;
    const upload = await store.createMultipartUpload(key, { contentType: "video/mp4" });
    const parts = [];
    for (const [number, bytes] of [patternBytes(0, 5 * MiB), patternBytes(5 * MiB, 100)].entries()) {
      const url = await store.presignUploadPart(key, upload.uploadId, number + 1, 600);
      expect(new URL(url).searchParams.get("X-Amz-Expires")).toBe("600");
      const res = await fetch(url, { method: "PUT", body: bytes });
      expect(res.status).toBe(200);
      parts.push({ partNumber: number + 1, etag: res.headers.get("etag") ?? "" });
    }
    expect((await upload.complete(parts)).size).toBe(5 * MiB + 100);
    const read = await fetch(await store.presignGet(key, 60));
    expect(read.status).toBe(200);
    expect((await readBytes(read.body ?? new ReadableStream())).length).toBe(5 * MiB + 100);
  });

  it("stop working when they expire", async () => {
    const key = `${freshPrefix("expired")}source`;
    await store.put(key, "secret");
    // Signed ten minutes ago for one minute.
    const past = createS3Store(testS3Config({ now: () => new Date(Date.now() - 600_000) }));
    const res = await fetch(await past.presignGet(key, 60));
    expect(res.status).toBe(403);
    expect(await res.text()).toContain("<Code>AccessDenied</Code>");
  });

  it("last at least a second and at most a week", async () => {
    for (const seconds of [0, 604_801, 1.5]) {
      expect(await storageErrorOf(store.presignGet("k", seconds))).toMatchObject({ code: "InvalidArgument" });
    }
  });

  it("are made for the R2 binding by an S3 store over the same bucket, and refused without one", async () => {
    const bare = createR2Store(env.MEDIA);
    expect(bare.canPresign).toBe(false);
    const refused = await storageErrorOf(bare.presignUploadPart("k", "upload", 1, 60));
    expect(refused).toMatchObject({ status: 501, code: "NotImplemented" });
    expect(refused.message).toContain("S3_ENDPOINT");

    const withS3 = createR2Store(env.MEDIA, { presigner: store });
    expect(withS3.canPresign).toBe(true);
    const url = new URL(await withS3.presignUploadPart("videos/k", "upload-1", 3, 60));
    expect(url.origin).toBe(testS3Config().endpoint);
    expect(url.searchParams.get("partNumber")).toBe("3");
    expect(url.searchParams.get("uploadId")).toBe("upload-1");
    expect(url.searchParams.get("X-Amz-Signature")).toMatch(/^[0-9a-f]{64}$/);
  });
});
