/**
 * The S3 backend streams: a 256 MiB object goes up and comes back without being held whole.
 *
 * The test server counts the bytes each connection has read and written (`/__probe`). Going up,
 * the body is made as it is pulled, and at every 16 MiB made the server must already have
 * received all but a bounded amount: a backend that read the stream to its end before sending
 * (to hash it, or to learn its length) would be 256 MiB behind. Coming back, once `get` has
 * answered and before a byte of the body is read, the server may have sent only what fits in
 * the connection's buffers: one that read the whole answer first would have sent all of it.
 * Neither check depends on timing: the bound is what the buffers between the two ends can hold.
 */
import { describe, expect, inject, it } from "vitest";
import { freshPrefix, patternByte, patternStream, testS3Config } from "../testing/storage";
import { createS3Store, s3Url } from "./s3";

const MiB = 1024 * 1024;
const SIZE = 256 * MiB;
/** Far more than socket buffers hold (a few MiB), far less than the object. */
const BOUND = 48 * MiB;

interface Probe {
  read: number;
  written: number;
  headers: { "content-length"?: string; "transfer-encoding"?: string };
}

async function probe(path: string): Promise<Probe | null> {
  const res = await fetch(`${inject("s3TestServer").endpoint}/__probe?path=${encodeURIComponent(path)}`);
  return res.json();
}

describe("the S3 backend with a 256 MiB object", () => {
  const config = testS3Config();
  const store = createS3Store(config);
  const key = `${freshPrefix("streaming-probe")}source`;
  const path = s3Url(config, key).pathname;

  it("sends a stream as it is made, never far ahead of what the server has received", async () => {
    let checks = 0;
    let largestLead = 0;
    const body = patternStream(SIZE, {
      onPull: async (produced) => {
        if (produced === 0 || produced % (16 * MiB) !== 0) return;
        const received = (await probe(path))?.read ?? 0;
        largestLead = Math.max(largestLead, produced - received);
        checks++;
      },
    });
    const stored = await store.put(key, body, { length: SIZE, contentType: "video/mp4" });
    expect(stored.size).toBe(SIZE);
    expect(checks).toBe(SIZE / (16 * MiB) - 1);
    expect(largestLead).toBeLessThan(BOUND);

    // Sent with its length, as S3 requires, not in chunks.
    expect((await probe(path))?.headers).toEqual({ "content-length": String(SIZE) });
    expect((await store.head(key))?.size).toBe(SIZE);
  }, 180_000);

  it("answers a GET before the body has come, and the body streams in whole and intact", async () => {
    const object = await store.get(key);
    expect(object?.size).toBe(SIZE);
    const sentBeforeReading = (await probe(path))?.written ?? Number.POSITIVE_INFINITY;
    expect(sentBeforeReading).toBeLessThan(BOUND);

    let position = 0;
    let mismatch = -1;
    for await (const chunk of object?.body ?? new ReadableStream<Uint8Array>()) {
      for (let i = 0; i < chunk.length && mismatch < 0; i++) {
        if (chunk[i] !== patternByte(position + i)) mismatch = position + i;
      }
      position += chunk.length;
    }
    expect(mismatch).toBe(-1);
    expect(position).toBe(SIZE);
    expect((await probe(path))?.written).toBeGreaterThanOrEqual(SIZE);
    await store.delete(key);
  }, 180_000);
});
