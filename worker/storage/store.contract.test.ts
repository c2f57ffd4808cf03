/**
 * One contract, both backends: the R2 binding (miniflare) and the S3 backend against a real
 * S3-compatible server (s3rver, started by the Worker project's global setup).
 */
import { describe, expect, it } from "vitest";
import { freshPrefix, patternBytes, patternStream, readBytes, storageErrorOf, testBackends } from "../testing/storage";
import { isNotFound, MIN_PART_SIZE, type ObjectStore } from "./store";

const MiB = 1024 * 1024;
const text = (value: string) => new TextEncoder().encode(value);

async function putMany(store: ObjectStore, keys: string[]) {
  for (let i = 0; i < keys.length; i += 50) {
    await Promise.all(keys.slice(i, i + 50).map((key) => store.put(key, key)));
  }
}

async function allKeys(store: ObjectStore, prefix: string, limit?: number): Promise<string[]> {
  const keys: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.list({ prefix, cursor, limit });
    keys.push(...page.objects.map((o) => o.key));
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return keys;
}

describe.each(testBackends())("the $name store", ({ name, store, equalPartsRequired }) => {
  it("names its backend", () => {
    expect(store.backend).toBe(name);
  });

  it("stores bytes and reads them back with their size, ETag and content type", async () => {
    const key = `${freshPrefix("put")}manifest.mpd`;
    const body = text("<MPD>first</MPD>");
    const stored = await store.put(key, body, { contentType: "application/dash+xml" });
    expect(stored.size).toBe(body.length);
    expect(stored.etag).toMatch(/^[^"]+$/);
    expect(stored.httpEtag).toBe(`"${stored.etag}"`);

    const head = await store.head(key);
    expect(head).toMatchObject({ key, size: body.length, etag: stored.etag, contentType: "application/dash+xml" });
    expect(head?.uploaded).toBeInstanceOf(Date);

    const object = await store.get(key);
    expect(object).toMatchObject({ size: body.length, etag: stored.etag, range: { offset: 0, length: body.length } });
    expect(await object?.text()).toBe("<MPD>first</MPD>");
  });

  it("replaces an object put again, with a new ETag", async () => {
    const key = `${freshPrefix("replace")}poster.jpg`;
    const first = await store.put(key, "one");
    const second = await store.put(key, "two, longer");
    expect(second.etag).not.toBe(first.etag);
    expect(await (await store.get(key))?.text()).toBe("two, longer");
  });

  it("answers null for a missing object, whether asked for its head, all of it or a range", async () => {
    const key = `${freshPrefix("missing")}nothing-here`;
    expect(await store.head(key)).toBeNull();
    expect(await store.get(key)).toBeNull();
    expect(await store.get(key, { range: { offset: 10, length: 5 } })).toBeNull();
  });

  it("reads byte ranges: bounded, to the end, clamped at the end; a start past the end is InvalidRange", async () => {
    const key = `${freshPrefix("range")}chunk-0-00001.m4s`;
    await store.put(key, patternBytes(0, 1000));

    const middle = await store.get(key, { range: { offset: 100, length: 50 } });
    expect(middle).toMatchObject({ size: 1000, range: { offset: 100, length: 50 } });
    expect(await readBytes(middle?.body ?? new ReadableStream())).toEqual(patternBytes(100, 50));

    const rest = await store.get(key, { range: { offset: 990 } });
    expect(rest?.range).toEqual({ offset: 990, length: 10 });
    expect(await readBytes(rest?.body ?? new ReadableStream())).toEqual(patternBytes(990, 10));

    const clamped = await store.get(key, { range: { offset: 995, length: 100 } });
    expect(clamped?.range).toEqual({ offset: 995, length: 5 });
    expect(await readBytes(clamped?.body ?? new ReadableStream())).toEqual(patternBytes(995, 5));

    const past = await storageErrorOf(store.get(key, { range: { offset: 1000, length: 10 } }));
    expect(past).toMatchObject({ status: 416, code: "InvalidRange" });
    const empty = await storageErrorOf(store.get(key, { range: { offset: 0, length: 0 } }));
    expect(empty.code).toBe("InvalidRange");
  });

  it("stores a stream of known length as it is read", async () => {
    const key = `${freshPrefix("stream")}source`;
    const size = 3 * MiB + 17;
    const stored = await store.put(key, patternStream(size, { chunkSize: 256 * 1024 }), {
      length: size,
      contentType: "video/mp4",
    });
    expect(stored.size).toBe(size);
    const object = await store.get(key);
    expect(object).toMatchObject({ size, contentType: "video/mp4", etag: stored.etag });
    expect(await readBytes(object?.body ?? new ReadableStream())).toEqual(patternBytes(0, size));
  });

  it("refuses a stream shorter than its length and keeps nothing of it", async () => {
    const key = `${freshPrefix("short")}source`;
    const err = await storageErrorOf(store.put(key, patternStream(1000), { length: 2000 }));
    expect(err).toMatchObject({ status: 400, code: "IncompleteBody" });
    expect(await store.head(key)).toBeNull();
  });

  it("keeps keys with spaces, quotes, ampersands, plus signs and non-ASCII letters intact", async () => {
    const prefix = freshPrefix("names");
    const key = `${prefix}a b+c&d'(x)*~é <tag> "q".txt`;
    await store.put(key, "odd name");
    expect(await (await store.get(key))?.text()).toBe("odd name");
    expect(await allKeys(store, prefix)).toEqual([key]);
    await store.delete([key, `${prefix}other & more`]);
    expect(await store.head(key)).toBeNull();
  });

  it("refuses keys no URL can address", async () => {
    const err = await storageErrorOf(store.put("videos/../escape", "x"));
    expect(err).toMatchObject({ status: 400, code: "InvalidObjectName" });
  });

  it("lists a prefix page by page, in key order, with sizes, and nothing outside it", async () => {
    const prefix = freshPrefix("list");
    const keys = Array.from({ length: 7 }, (_, i) => `${prefix}f${i}`);
    await putMany(store, [...keys, `${prefix.slice(0, -1)}-sibling/not-listed`]);

    const first = await store.list({ prefix, limit: 3 });
    expect(first.objects.map((o) => o.key)).toEqual(keys.slice(0, 3));
    expect(first.objects[0]).toMatchObject({ size: keys[0]?.length });
    expect(first.truncated).toBe(true);
    expect(first.cursor).toBeTruthy();

    const second = await store.list({ prefix, limit: 3, cursor: first.cursor });
    expect(second.objects.map((o) => o.key)).toEqual(keys.slice(3, 6));
    const third = await store.list({ prefix, limit: 3, cursor: second.cursor });
    expect(third.objects.map((o) => o.key)).toEqual(keys.slice(6));
    expect(third.truncated).toBe(false);
    expect(third.cursor).toBeUndefined();

    expect(await store.list({ prefix: freshPrefix("list-empty") })).toEqual({
      objects: [],
      truncated: false,
      cursor: undefined,
    });
  });

  it("deletes one key, many keys and more than one request takes; missing keys are no error", async () => {
    const prefix = freshPrefix("delete");
    const keys = Array.from({ length: 1003 }, (_, i) => `${prefix}${String(i).padStart(4, "0")}`);
    await putMany(store, keys);
    await store.delete(keys[0] ?? "");
    await store.delete([...keys.slice(1, 1002), `${prefix}never-stored`]);
    expect(await allKeys(store, prefix)).toEqual(keys.slice(1002));
    await store.delete(`${prefix}never-stored`);
  }, 60_000);

  it("joins multipart parts, bytes and streamed, into one object, also from a resumed upload", async () => {
    const key = `${freshPrefix("multipart")}source`;
    const upload = await store.createMultipartUpload(key, { contentType: "video/webm" });
    expect(upload.key).toBe(key);
    const one = await upload.uploadPart(1, patternBytes(0, 5 * MiB));
    // A later request goes on with the same upload.
    const resumed = store.resumeMultipartUpload(key, upload.uploadId);
    const two = await resumed.uploadPart(2, patternStream(5 * MiB, { start: 5 * MiB, chunkSize: 512 * 1024 }), 5 * MiB);
    const three = await resumed.uploadPart(3, patternBytes(10 * MiB, 1234));
    const stored = await resumed.complete([one, two, three]);
    expect(stored).toMatchObject({ key, size: 10 * MiB + 1234 });

    const object = await store.get(key, { range: { offset: 5 * MiB - 10, length: 20 } });
    expect(object?.contentType).toBe("video/webm");
    expect(await readBytes(object?.body ?? new ReadableStream())).toEqual(patternBytes(5 * MiB - 10, 20));
    const tail = await store.get(key, { range: { offset: 10 * MiB } });
    expect(await readBytes(tail?.body ?? new ReadableStream())).toEqual(patternBytes(10 * MiB, 1234));
  });

  it("takes part ETags with or without quotes", async () => {
    const key = `${freshPrefix("quotes")}source`;
    const upload = await store.createMultipartUpload(key);
    const part = await upload.uploadPart(1, "tiny");
    const etag = part.etag.startsWith('"') ? part.etag.slice(1, -1) : `"${part.etag}"`;
    expect((await upload.complete([{ partNumber: 1, etag }])).size).toBe(4);
  });

  it("refuses to complete with a part under 5 MiB that is not the last", async () => {
    const key = `${freshPrefix("small-part")}source`;
    const upload = await store.createMultipartUpload(key);
    const one = await upload.uploadPart(1, patternBytes(0, MIN_PART_SIZE - 1));
    const two = await upload.uploadPart(2, patternBytes(0, 10));
    const err = await storageErrorOf(upload.complete([one, two]));
    expect(err).toMatchObject({ status: 400, code: "EntityTooSmall" });
    await upload.abort();
    expect(await store.head(key)).toBeNull();
  });

  it.runIf(equalPartsRequired)("refuses to complete with parts of different sizes before the last", async () => {
    const key = `${freshPrefix("unequal")}source`;
    const upload = await store.createMultipartUpload(key);
    const one = await upload.uploadPart(1, patternBytes(0, 6 * MiB));
    const two = await upload.uploadPart(2, patternBytes(0, 5 * MiB));
    const three = await upload.uploadPart(3, patternBytes(0, 10));
    const err = await storageErrorOf(upload.complete([one, two, three]));
    expect(err).toMatchObject({ status: 400, code: "InvalidPart" });
    await upload.abort();
  });

  it("refuses to complete with an ETag that is not the part's", async () => {
    const key = `${freshPrefix("wrong-etag")}source`;
    const upload = await store.createMultipartUpload(key);
    const one = await upload.uploadPart(1, "part one");
    const err = await storageErrorOf(upload.complete([{ partNumber: one.partNumber, etag: "0123456789abcdef" }]));
    expect(err).toMatchObject({ status: 400, code: "InvalidPart" });
    expect(await store.head(key)).toBeNull();
    await upload.abort();
  });

  it("aborts an upload: its parts are gone, later parts are NoSuchUpload, aborting again is fine", async () => {
    const key = `${freshPrefix("abort")}source`;
    const upload = await store.createMultipartUpload(key);
    await upload.uploadPart(1, patternBytes(0, 1000));
    await upload.abort();
    const err = await storageErrorOf(upload.uploadPart(2, "late"));
    expect(err).toMatchObject({ status: 404, code: "NoSuchUpload" });
    expect(isNotFound(err)).toBe(true);
    await upload.abort();
    expect(await store.head(key)).toBeNull();
  });
});
