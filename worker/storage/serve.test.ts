import { beforeAll, describe, expect, it } from "vitest";
import { ApiError } from "../app/errors";
import { freshPrefix, patternBytes, readBytes, testBackends } from "../testing/storage";
import { serveObject } from "./serve";
import type { ObjectInfo } from "./store";

const request = (headers: Record<string, string> = {}, method = "GET") =>
  new Request("http://api.test/v/x/chunk.m4s", { method, headers });

describe.each(testBackends())("serveObject from the $name store", ({ store }) => {
  const key = `${freshPrefix("serve")}chunk-0-00001.m4s`;
  const bytes = patternBytes(0, 1000);
  let stored: ObjectInfo;

  beforeAll(async () => {
    stored = await store.put(key, bytes, { contentType: "application/octet-stream" });
  });

  it("answers a GET with the whole body, its length, ETag, type and caching", async () => {
    const res = await serveObject(store, key, request(), {
      contentType: "video/iso.segment",
      cacheControl: "public, max-age=31536000, immutable",
      headers: { "x-extra": "kept" },
    });
    expect(res?.status).toBe(200);
    expect(Object.fromEntries(res?.headers ?? [])).toMatchObject({
      "accept-ranges": "bytes",
      "content-length": "1000",
      "content-type": "video/iso.segment",
      "cache-control": "public, max-age=31536000, immutable",
      etag: stored.httpEtag,
      "x-extra": "kept",
    });
    expect(await readBytes(res?.body ?? new ReadableStream())).toEqual(bytes);
  });

  it("uses the stored content type when none is given", async () => {
    const res = await serveObject(store, key, request());
    expect(res?.headers.get("content-type")).toBe("application/octet-stream");
    await res?.body?.cancel();
  });

  it("answers HEAD with the headers and no body", async () => {
    const res = await serveObject(store, key, request({}, "HEAD"));
    expect(res?.status).toBe(200);
    expect(res?.headers.get("content-length")).toBe("1000");
    expect(res?.headers.get("etag")).toBe(stored.httpEtag);
    expect(res?.body).toBeNull();
  });

  it("answers a byte range with 206 and Content-Range", async () => {
    const res = await serveObject(store, key, request({ range: "bytes=100-199" }));
    expect(res?.status).toBe(206);
    expect(res?.headers.get("content-range")).toBe("bytes 100-199/1000");
    expect(res?.headers.get("content-length")).toBe("100");
    expect(await readBytes(res?.body ?? new ReadableStream())).toEqual(patternBytes(100, 100));
  });

  it("answers open and suffix ranges", async () => {
    const open = await serveObject(store, key, request({ range: "bytes=990-" }));
    expect(open?.headers.get("content-range")).toBe("bytes 990-999/1000");
    expect(await readBytes(open?.body ?? new ReadableStream())).toEqual(patternBytes(990, 10));
    const suffix = await serveObject(store, key, request({ range: "bytes=-3" }));
    expect(suffix?.headers.get("content-range")).toBe("bytes 997-999/1000");
    expect(await readBytes(suffix?.body ?? new ReadableStream())).toEqual(patternBytes(997, 3));
  });

  it("answers HEAD with a range as 206 without a body", async () => {
    const res = await serveObject(store, key, request({ range: "bytes=0-9" }, "HEAD"));
    expect(res?.status).toBe(206);
    expect(res?.headers.get("content-length")).toBe("10");
    expect(res?.body).toBeNull();
  });

  it("serves all of it for a malformed Range", async () => {
    const res = await serveObject(store, key, request({ range: "bytes=abc" }));
    expect(res?.status).toBe(200);
    expect((await readBytes(res?.body ?? new ReadableStream())).length).toBe(1000);
  });

  it("answers 304 to a matching If-None-Match, strong, weak or *, and 200 to another", async () => {
    for (const tag of [stored.httpEtag, `W/${stored.httpEtag}`, `"other", ${stored.httpEtag}`, "*"]) {
      const res = await serveObject(store, key, request({ "if-none-match": tag }));
      expect(res?.status, tag).toBe(304);
      expect(res?.headers.get("etag")).toBe(stored.httpEtag);
      expect(res?.body).toBeNull();
    }
    const other = await serveObject(store, key, request({ "if-none-match": '"not-this-one"' }));
    expect(other?.status).toBe(200);
    expect((await readBytes(other?.body ?? new ReadableStream())).length).toBe(1000);
  });

  it("refuses a range past the end with the 416 ApiError naming the size", async () => {
    const err = await serveObject(store, key, request({ range: "bytes=1000-" })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).code).toBe("range_not_satisfiable");
    expect((err as ApiError).headers["Content-Range"]).toBe("bytes */1000");
  });

  it("answers null for a missing object, whatever was asked", async () => {
    const missing = `${freshPrefix("serve-missing")}nothing`;
    expect(await serveObject(store, missing, request())).toBeNull();
    expect(await serveObject(store, missing, request({}, "HEAD"))).toBeNull();
    expect(await serveObject(store, missing, request({ range: "bytes=0-1" }))).toBeNull();
    expect(await serveObject(store, missing, request({ "if-none-match": "*" }))).toBeNull();
  });
});
