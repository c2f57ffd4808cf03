import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { CAPTION_MAX_BYTES } from "../../captions/webvtt";
import { expectNothingStored, expectRefusal } from "../../security/bad-input.helpers";
import { captionKey } from "../../storage/keys";
import { callApp, signedInUser } from "../../testing/api";
import { seedVideo } from "../../testing/seed";
import { ENGLISH_VTT, seedPlayableVideo } from "../../testing/viewer";

const ip = () => ({ "cf-connecting-ip": `198.51.100.${Math.floor(Math.random() * 250)}` });

async function owner() {
  const user = await signedInUser();
  return { ...user, headers: { ...user.auth, ...ip() } };
}

const put = (
  headers: Record<string, string>,
  id: string,
  lang: string,
  body: BodyInit,
  type: string | null = "text/vtt",
  query = "",
) =>
  callApp(`/api/videos/${id}/captions/${lang}/${query}`, {
    method: "PUT",
    headers: { ...headers, ...(type === null ? {} : { "content-type": type }) },
    body,
  });

describe("caption files that are not valid", () => {
  it.each([
    ["no WEBVTT header", "00:00:01.000 --> 00:00:02.000\nHello\n", 1, /must start with "WEBVTT"/],
    [
      "a broken timing",
      "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nfine\n\n00:00:03.000 -> 00:00:04.000\nbroken\n",
      6,
      /cue timing/,
    ],
    [
      "a cue ending before it starts",
      "WEBVTT\n\n00:00:05.000 --> 00:00:02.000\nbackwards\n",
      3,
      /ends .* before it starts/,
    ],
    [
      "an unknown cue setting",
      "WEBVTT\n\n00:00:01.000 --> 00:00:02.000 colour:red\nHi\n",
      3,
      /unknown cue setting "colour"/,
    ],
    [
      "text running into the next cue",
      "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nA\n00:00:02.000 --> 00:00:03.000\nB\n",
      5,
      /blank line/,
    ],
    [
      "an SRT file with a malformed time",
      "1\n00:00:01,000 --> 00:00:02,000\nok\n\n2\n00:00:0x,000 --> 00:00:04,000\nbad\n",
      6,
      /malformed start time/,
    ],
  ])("refuses a file with %s with 400, naming the line", async (_, body, line, reason) => {
    const a = await owner();
    const v = await seedPlayableVideo({ ownerId: a.id });
    await expectNothingStored(async () => {
      const res = await put(a.headers, v.id, "en", body, body.startsWith("1\n") ? "application/x-subrip" : "text/vtt");
      const error = await expectRefusal(res, 400, "invalid_caption");
      expect(error.message).toMatch(new RegExp(`^Invalid caption file: line ${line}: `));
      expect(error.message).toMatch(reason);
      expect(error.details).toMatchObject({ line });
    });
  });

  it("refuses bytes that are not UTF-8, naming their line", async () => {
    const a = await owner();
    const v = await seedPlayableVideo({ ownerId: a.id });
    const bytes = new Uint8Array([
      ...new TextEncoder().encode("WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n"),
      0xff,
      0x41,
      0x0a,
    ]);
    const error = await expectRefusal(await put(a.headers, v.id, "en", bytes), 400, "invalid_caption");
    expect(error.details).toMatchObject({ line: 4 });
  });

  it("refuses a file larger than the limit with 413, by its length or as it streams in", async () => {
    const a = await owner();
    const v = await seedPlayableVideo({ ownerId: a.id });
    const big = `WEBVTT\n\nNOTE ${"x".repeat(CAPTION_MAX_BYTES)}\n`;
    await expectNothingStored(async () => {
      await expectRefusal(await put(a.headers, v.id, "en", big), 413, "payload_too_large");
      // Without a Content-Length: counted while it is read.
      const bytes = new TextEncoder().encode(big);
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          for (let at = 0; at < bytes.length; at += 65_536) controller.enqueue(bytes.slice(at, at + 65_536));
          controller.close();
        },
      });
      await expectRefusal(await put(a.headers, v.id, "en", stream), 413, "payload_too_large");
    });
  });

  it("refuses a body whose type is no caption file's with 415", async () => {
    const a = await owner();
    const v = await seedPlayableVideo({ ownerId: a.id });
    await expectRefusal(await put(a.headers, v.id, "en", ENGLISH_VTT, "image/png"), 415, "unsupported_media_type");
  });
});

describe("caption language tags and labels", () => {
  it.each(["english!", "en_US", "e", "en--us", "x", "en-US-u", "toolongsubtag-en", "a".repeat(65)])(
    "refuses the malformed tag %s with 400",
    async (tag) => {
      const a = await owner();
      const v = await seedPlayableVideo({ ownerId: a.id });
      const error = await expectRefusal(await put(a.headers, v.id, encodeURIComponent(tag), ENGLISH_VTT), 400);
      expect(error.code).toBe("validation_error");
      expect(error.details).toEqual([expect.objectContaining({ path: "lang" })]);
      expect(await env.MEDIA.head(captionKey(v.id, tag))).toBeNull();
    },
  );

  it("refuses a label on more than one line, or too long", async () => {
    const a = await owner();
    const v = await seedPlayableVideo({ ownerId: a.id });
    for (const label of ["Two\nlines", "x".repeat(101), 'Quote " and\rreturn']) {
      const error = await expectRefusal(
        await put(a.headers, v.id, "en", ENGLISH_VTT, "text/vtt", `?label=${encodeURIComponent(label)}`),
        400,
        "validation_error",
      );
      expect(error.details).toEqual([expect.objectContaining({ path: "label" })]);
    }
    const kind = await put(a.headers, v.id, "en", ENGLISH_VTT, "text/vtt", "?kind=karaoke");
    await expectRefusal(kind, 400, "validation_error");
  });
});

describe("captions of videos that are not the caller's", () => {
  it("answers 401 without a key, 403 on someone else's public video, 404 on their private one", async () => {
    const a = await owner();
    const b = await owner();
    const pub = await seedPlayableVideo({ ownerId: a.id });
    const priv = await seedPlayableVideo({ ownerId: a.id, visibility: "private" });
    await expectNothingStored(async () => {
      await expectRefusal(await put(ip(), pub.id, "en", ENGLISH_VTT), 401, "unauthorized");
      await expectRefusal(await put(b.headers, pub.id, "en", ENGLISH_VTT), 403, "forbidden");
      await expectRefusal(await put(b.headers, priv.id, "en", ENGLISH_VTT), 404, "not_found");
      await expectRefusal(await put(b.headers, crypto.randomUUID(), "en", ENGLISH_VTT), 404, "not_found");
      await expectRefusal(await callApp(`/api/videos/${priv.id}/captions/`, { headers: b.headers }), 404, "not_found");
    });
    await put(a.headers, pub.id, "en", ENGLISH_VTT);
    const del = await callApp(`/api/videos/${pub.id}/captions/en/`, { method: "DELETE", headers: b.headers });
    await expectRefusal(del, 403, "forbidden");
    expect(await env.MEDIA.head(captionKey(pub.id, "en"))).not.toBeNull();
  });

  it("answers 404 for a track that does not exist, and for a spelling of a tag that is not the canonical one", async () => {
    const a = await owner();
    const v = await seedPlayableVideo({ ownerId: a.id });
    const del = await callApp(`/api/videos/${v.id}/captions/fr/`, { method: "DELETE", headers: a.headers });
    await expectRefusal(del, 404, "not_found");
    await put(a.headers, v.id, "en-GB", ENGLISH_VTT);
    await expectRefusal(await callApp(`/v/${v.id}/captions_en-gb.vtt`, { headers: ip() }), 404, "not_found");
    await expectRefusal(await callApp(`/v/${v.id}/captions_fr.m3u8`, { headers: ip() }), 404, "not_found");
  });

  it("lists a video's tracks with null URLs until it can be played", async () => {
    const a = await owner();
    const v = await seedVideo({ ownerId: a.id, status: "processing" });
    expect((await put(a.headers, v.id, "en", ENGLISH_VTT)).status).toBe(201);
    const list = (await (await callApp(`/api/videos/${v.id}/captions/`, { headers: ip() })).json()) as {
      results: { url: string | null }[];
    };
    expect(list.results).toEqual([expect.objectContaining({ url: null })]);
    await expectRefusal(await callApp(`/v/${v.id}/captions_en.vtt`, { headers: ip() }), 404, "not_found");
  });
});
