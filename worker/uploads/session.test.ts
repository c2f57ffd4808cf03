/** The session writer, on both storage backends: the R2 binding and an S3-compatible bucket. */
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { uploads } from "../db/schema";
import { sourceKey, tailKey } from "../storage/keys";
import { mp4Like } from "../testing/http";
import { seedVideo, sha256, testDb } from "../testing/seed";
import { testBackends } from "../testing/storage";
import { type NewSession, UploadSession } from "./session";
import { SNIFF_BYTES } from "./sniff";

const MiB = 1024 * 1024;

describe.each(testBackends())("upload sessions in the $name store", ({ store: storage }) => {
  const store = () => ({ db: testDb(), storage });

  async function newSession(length: number | null, overrides: Partial<NewSession> = {}) {
    const video = await seedVideo({ status: "uploading" });
    return UploadSession.open(store(), {
      id: video.id,
      videoId: video.id,
      userId: video.ownerId,
      length,
      expiresAt: new Date(Date.now() + 3_600_000),
      ...overrides,
    });
  }

  /** `bytes` in pieces cut at `cuts` (offsets into it), as a request body would arrive. */
  async function* pieces(bytes: Uint8Array, cuts: number[] = []) {
    let at = 0;
    for (const cut of [...cuts, bytes.length]) {
      if (cut > at) yield bytes.slice(at, cut);
      at = cut;
    }
  }

  /** `bytes`, then the stream breaks. */
  async function* breaksAfter(bytes: Uint8Array) {
    yield* pieces(bytes, [Math.floor(bytes.length / 3)]);
    throw new Error("connection lost");
  }

  const rowOf = (id: string) => testDb().select().from(uploads).where(eq(uploads.id, id)).get();

  async function storedSource(videoId: string) {
    const object = await storage.get(sourceKey(videoId));
    return object ? new Uint8Array(await object.arrayBuffer()) : null;
  }

  const tailStored = async (id: string) => (await storage.head(tailKey(id))) !== null;

  /** Whether the store still takes parts for the session's multipart upload. */
  async function multipartOpen(videoId: string, uploadId: string) {
    return storage
      .resumeMultipartUpload(sourceKey(videoId), uploadId)
      .uploadPart(10_000, new Uint8Array(16))
      .then(
        () => true,
        () => false,
      );
  }

  describe("an upload session of known length", () => {
    it("takes writes of uneven sizes, keeps the exact offset after each, and completes at its length", async () => {
      const data = mp4Like(23 * MiB + 321);
      const session = await newSession(data.length);
      const cuts = [3 * MiB + 1, 14 * MiB + 7, 14 * MiB + 8, data.length];
      let from = 0;
      let resumed = session;
      for (const to of cuts) {
        resumed = (await UploadSession.find(store(), session.id)) as UploadSession;
        expect(resumed.offset).toBe(from);
        expect(await resumed.write(pieces(data.slice(from, to), [1000, 2 * MiB]))).toBe(to);
        expect((await rowOf(session.id))?.offset).toBe(to);
        expect(resumed.complete).toBe(to === data.length);
        from = to;
      }
      expect(await sha256((await storedSource(session.videoId)) as Uint8Array)).toBe(await sha256(data));
      expect(await tailStored(session.id)).toBe(false);
      await expect(resumed.write(pieces(data.slice(0, 10)))).rejects.toThrow(/takes no more bytes/);
    });

    it("keeps the exact offset of an interrupted write, and goes on from it", async () => {
      const data = mp4Like(17 * MiB + 99);
      const session = await newSession(data.length);
      const delivered = 12 * MiB + 17; // one whole part and a tail
      await expect(session.write(breaksAfter(data.slice(0, delivered)))).rejects.toThrow("connection lost");
      const resumed = (await UploadSession.find(store(), session.id)) as UploadSession;
      expect(resumed.offset).toBe(delivered);
      expect(await tailStored(session.id)).toBe(true);
      expect(await resumed.write(pieces(data.slice(delivered)))).toBe(data.length);
      expect(await sha256((await storedSource(session.videoId)) as Uint8Array)).toBe(await sha256(data));
    });

    it("refuses bytes past the declared length with 413, storing none of them", async () => {
      const session = await newSession(1000);
      await expect(session.write(pieces(mp4Like(1001)))).rejects.toMatchObject({ status: 413 });
      expect((await rowOf(session.id))?.offset).toBe(0);
      expect(await tailStored(session.id)).toBe(false);
    });
  });

  describe("an upload session of unknown length", () => {
    it("completes on finish() after a last write, without ever storing a tail", async () => {
      const data = mp4Like(21 * MiB + 5);
      const session = await newSession(null);
      expect(await session.write(pieces(data, [7, 5 * MiB]), { last: true })).toBe(data.length);
      expect(session.complete).toBe(false);
      // Two whole parts are durable and the length is known; the rest waits in memory for finish().
      expect(await rowOf(session.id)).toMatchObject({ offset: 20 * MiB, length: data.length });
      expect(await tailStored(session.id)).toBe(false);
      expect(await storedSource(session.videoId)).toBeNull();
      // Another request cannot finish it without the held bytes.
      const elsewhere = (await UploadSession.find(store(), session.id)) as UploadSession;
      await expect(elsewhere.finish()).rejects.toThrow(/has 20971520 of its/);
      await session.finish();
      expect(session.complete).toBe(true);
      expect(await rowOf(session.id)).toMatchObject({ length: data.length, offset: data.length });
      expect(await sha256((await storedSource(session.videoId)) as Uint8Array)).toBe(await sha256(data));
    });

    it("takes several writes and finishes in a later request from the stored tail", async () => {
      const data = mp4Like(12 * MiB + 3);
      const session = await newSession(null);
      await session.write(pieces(data.slice(0, 4 * MiB)));
      const later = (await UploadSession.find(store(), session.id)) as UploadSession;
      await later.write(pieces(data.slice(4 * MiB)));
      expect(later.offset).toBe(data.length);
      expect(await tailStored(session.id)).toBe(true);
      const last = (await UploadSession.find(store(), session.id)) as UploadSession;
      await last.finish();
      expect(await rowOf(session.id)).toMatchObject({ length: data.length, offset: data.length });
      expect(await tailStored(session.id)).toBe(false);
      expect(await sha256((await storedSource(session.videoId)) as Uint8Array)).toBe(await sha256(data));
    });

    it("makes an interrupted last write durable instead of holding it, so finish() cannot complete a cut file", async () => {
      const data = mp4Like(11 * MiB);
      const session = await newSession(null);
      await expect(session.write(breaksAfter(data.slice(0, 10 * MiB + 9)), { last: true })).rejects.toThrow();
      expect((await rowOf(session.id))?.offset).toBe(10 * MiB + 9);
      const resumed = (await UploadSession.find(store(), session.id)) as UploadSession;
      await resumed.write(pieces(data.slice(10 * MiB + 9)), { last: true });
      await resumed.finish();
      expect(await sha256((await storedSource(session.videoId)) as Uint8Array)).toBe(await sha256(data));
    });

    it("shows the size check every size as it grows, and a refusal stores nothing more", async () => {
      const session = await newSession(null);
      const seen: number[] = [];
      const size = (bytes: number) => {
        seen.push(bytes);
        if (bytes > 3 * MiB) throw new Error("too big");
      };
      await expect(
        session.write(pieces(mp4Like(5 * MiB), [MiB, 2 * MiB, 3 * MiB, 4 * MiB]), { checks: { size }, last: true }),
      ).rejects.toThrow("too big");
      expect(seen).toEqual([MiB, 2 * MiB, 3 * MiB, 4 * MiB]);
      expect((await rowOf(session.id))?.offset).toBe(0);
      expect(await tailStored(session.id)).toBe(false);
    });

    it("shows the head check the first bytes once, or the whole of a smaller upload at its end", async () => {
      const heads: number[] = [];
      const head = (bytes: Uint8Array) => void heads.push(bytes.length);
      const big = await newSession(null);
      await big.write(pieces(mp4Like(MiB), [1, 100, 200]), { checks: { head }, last: true });
      const small = await newSession(null);
      await small.write(pieces(mp4Like(SNIFF_BYTES - 10), [5]), { checks: { head }, last: true });
      expect(heads).toEqual([SNIFF_BYTES, SNIFF_BYTES - 10]);
      await small.finish();
      expect((await storedSource(small.videoId))?.length).toBe(SNIFF_BYTES - 10);
      await big.abort();
    });
  });

  describe("a session whose parts a client stores", () => {
    it("completes from the client's part list and records the object's size", async () => {
      const data = mp4Like(12 * MiB + 1);
      const session = await newSession(null);
      const upload = storage.resumeMultipartUpload(sourceKey(session.videoId), session.uploadId);
      const parts = [
        await upload.uploadPart(1, data.slice(0, 6 * MiB)),
        await upload.uploadPart(2, data.slice(6 * MiB, 12 * MiB)),
        await upload.uploadPart(3, data.slice(12 * MiB)),
      ];
      await session.finishWithParts(parts);
      expect(session.complete).toBe(true);
      expect(await rowOf(session.id)).toMatchObject({ length: data.length, offset: data.length });
      expect(await sha256((await storedSource(session.videoId)) as Uint8Array)).toBe(await sha256(data));
    });
  });

  describe("abort", () => {
    it("drops the multipart upload, the held and stored bytes and the row, leaving no object", async () => {
      const held = await newSession(null);
      await held.write(pieces(mp4Like(13 * MiB)), { last: true });
      const stored = await newSession(20 * MiB);
      await stored.write(pieces(mp4Like(3 * MiB)));
      for (const session of [held, stored]) {
        const uploadId = (await rowOf(session.id))?.r2UploadId as string;
        expect(await multipartOpen(session.videoId, uploadId)).toBe(true);
        await session.abort();
        expect(await rowOf(session.id)).toBeUndefined();
        expect(await tailStored(session.id)).toBe(false);
        expect(await storage.head(sourceKey(session.videoId))).toBeNull();
        expect(await multipartOpen(session.videoId, uploadId)).toBe(false);
      }
    });

    it("leaves a complete session's object alone and only drops its row", async () => {
      const data = mp4Like(2000);
      const session = await newSession(data.length);
      await session.write(pieces(data));
      await session.abort();
      expect(await rowOf(session.id)).toBeUndefined();
      expect(await storedSource(session.videoId)).toEqual(data);
    });
  });
});
