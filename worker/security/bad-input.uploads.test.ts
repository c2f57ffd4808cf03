/**
 * Broken and hostile uploads: tus requests that break the protocol or lie about offsets and
 * lengths, metadata that is not base64 or smuggles header lines, forms that are not forms, and
 * filenames built to break out of `Content-Disposition`. Each refusal answers the right 4xx in the
 * error envelope and keeps nothing; an upload in progress survives every hostile PATCH intact.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { callApp, recordingQueue, signedInUser } from "../testing/api";
import { b64, form, TUS, tusMetadata } from "../testing/http";
import { tinyMp4 } from "../testing/seed";
import { expectHealthy, expectNothingStored, expectRefusal, storedState } from "./bad-input.helpers";

const OCTETS = "application/offset+octet-stream";
const META = { title: "A clip", filetype: "video/mp4", filename: "clip.mp4" };

let owner: Awaited<ReturnType<typeof signedInUser>>;
beforeAll(async () => {
  owner = await signedInUser();
});

const tusPost = (auth: Record<string, string>, headers: Record<string, string>, vars?: Record<string, string>) =>
  callApp("/api/uploads/", { method: "POST", headers: { ...auth, ...headers } }, recordingQueue().queue, vars);

const expectNoCookie = (res: Response) => expect(res.headers.get("set-cookie")).toBeNull();

describe("tus creation refusals", () => {
  const valid = { ...TUS, "upload-length": "1000", "upload-metadata": tusMetadata(META) };
  const cases: [string, number, string, Record<string, string | undefined>, Record<string, string>?][] = [
    ["no Tus-Resumable", 412, "precondition_failed", { "tus-resumable": undefined }],
    ["Tus-Resumable 0.2.2", 412, "precondition_failed", { "tus-resumable": "0.2.2" }],
    ["a non-numeric Upload-Length", 400, "bad_request", { "upload-length": "abc" }],
    ["a negative Upload-Length", 400, "bad_request", { "upload-length": "-5" }],
    ["a fractional Upload-Length", 400, "bad_request", { "upload-length": "1.5" }],
    ["an Upload-Length beyond 2^53", 400, "bad_request", { "upload-length": "99999999999999999999" }],
    ["an Upload-Length of 0", 400, "bad_request", { "upload-length": "0" }],
    ["no Upload-Length", 400, "bad_request", { "upload-length": undefined }],
    [
      "an Upload-Length one byte over MAX_UPLOAD_SIZE",
      413,
      "payload_too_large",
      { "upload-length": "1001" },
      { MAX_UPLOAD_SIZE: "1000" },
    ],
    ["Upload-Metadata that is not base64", 400, "bad_request", { "upload-metadata": "title !!!!,filetype %%%%" }],
    [
      "Upload-Metadata with a key twice",
      400,
      "bad_request",
      { "upload-metadata": `title ${b64("a")},title ${b64("b")}` },
    ],
    ["Upload-Metadata with an empty key", 400, "bad_request", { "upload-metadata": `title ${b64("a")}, ${b64("x")}` }],
    [
      "a title smuggling a header line",
      400,
      "validation_error",
      { "upload-metadata": tusMetadata({ ...META, title: "Clip\r\nSet-Cookie: session=1" }) },
    ],
    [
      "a title with a NUL",
      400,
      "validation_error",
      { "upload-metadata": tusMetadata({ ...META, title: "Clip\u0000" }) },
    ],
    [
      "a title with a right-to-left override",
      400,
      "validation_error",
      { "upload-metadata": tusMetadata({ ...META, title: "clip\u202Egnp.exe" }) },
    ],
    [
      "an unknown visibility",
      400,
      "validation_error",
      { "upload-metadata": tusMetadata({ ...META, visibility: "everyone" }) },
    ],
    [
      "an impossible max_resolution",
      400,
      "validation_error",
      { "upload-metadata": tusMetadata({ ...META, max_resolution: "99999p" }) },
    ],
    [
      "a declared type that is not video",
      415,
      "unsupported_media_type",
      { "upload-metadata": tusMetadata({ ...META, filetype: "text/html" }) },
    ],
  ];

  it.each(cases)("refuses %s with %i, storing nothing", async (_, status, code, change, vars) => {
    const user = await signedInUser();
    const headers: Record<string, string> = { ...valid };
    for (const [name, value] of Object.entries(change)) {
      if (value === undefined) delete headers[name];
      else headers[name] = value;
    }
    await expectNothingStored(async () => {
      const res = await tusPost(user.auth, headers, vars);
      expectNoCookie(res);
      if (status === 412) expect(res.headers.get("tus-version")).toBe("1.0.0");
      expect(res.headers.get("location")).toBeNull();
      await expectRefusal(res, status, code);
    });
  });
});

describe("tus PATCH refusals on an upload in progress", () => {
  const mp4 = tinyMp4();
  const SENT = 4096;

  /** An upload of the fixture with its first 4 KiB received. */
  async function uploadInProgress() {
    const user = await signedInUser();
    const created = await tusPost(user.auth, {
      ...TUS,
      "upload-length": String(mp4.length),
      "upload-metadata": tusMetadata(META),
    });
    expect(created.status).toBe(201);
    const path = new URL(created.headers.get("location") ?? "").pathname;
    const first = await callApp(path, {
      method: "PATCH",
      headers: { ...user.auth, ...TUS, "upload-offset": "0", "content-type": OCTETS },
      body: mp4.slice(0, SENT),
    });
    expect(first.status).toBe(204);
    return { user, path };
  }

  async function offsetOf(path: string, auth: Record<string, string>) {
    const res = await callApp(path, { method: "HEAD", headers: { ...auth, ...TUS } });
    expect(res.status).toBe(200);
    return res.headers.get("upload-offset");
  }

  const next = mp4.slice(SENT, SENT + 1024);
  const cases: [string, number, string, Record<string, string | undefined>, Uint8Array][] = [
    ["an Upload-Offset ahead of the stored one", 409, "conflict", { "upload-offset": String(SENT + 100) }, next],
    ["an Upload-Offset behind the stored one", 409, "conflict", { "upload-offset": "0" }, mp4.slice(0, 1024)],
    ["a non-numeric Upload-Offset", 400, "bad_request", { "upload-offset": "abc" }, next],
    ["a negative Upload-Offset", 400, "bad_request", { "upload-offset": "-1" }, next],
    ["no Upload-Offset", 400, "bad_request", { "upload-offset": undefined }, next],
    ["Content-Type: application/json", 415, "unsupported_media_type", { "content-type": "application/json" }, next],
    ["no Content-Type", 415, "unsupported_media_type", { "content-type": undefined }, next],
    ["no Tus-Resumable", 412, "precondition_failed", { "tus-resumable": undefined }, next],
    ["Tus-Resumable 1.0.1", 412, "precondition_failed", { "tus-resumable": "1.0.1" }, next],
    ["bytes past Upload-Length", 413, "payload_too_large", {}, new Uint8Array(mp4.length)],
  ];

  it.each(cases)("refuses %s with %i and keeps the offset", async (_, status, code, change, body) => {
    const { user, path } = await uploadInProgress();
    const headers: Record<string, string> = {
      ...user.auth,
      ...TUS,
      "upload-offset": String(SENT),
      "content-type": OCTETS,
    };
    for (const [name, value] of Object.entries(change)) {
      if (value === undefined) delete headers[name];
      else headers[name] = value;
    }
    const before = await storedState();
    const res = await callApp(path, { method: "PATCH", headers, body }, recordingQueue().queue);
    if (status === 412) expect(res.headers.get("tus-version")).toBe("1.0.0");
    expect(res.headers.get("tus-resumable")).toBe("1.0.0");
    await expectRefusal(res, status, code);
    expect(await storedState()).toEqual(before);
    expect(await offsetOf(path, user.auth)).toBe(String(SENT));
  });

  it("answers another user's PATCH and DELETE with 404 and leaves the upload alone", async () => {
    const { user, path } = await uploadInProgress();
    const stranger = await signedInUser();
    await expectNothingStored(async () => {
      const patch = await callApp(path, {
        method: "PATCH",
        headers: { ...stranger.auth, ...TUS, "upload-offset": String(SENT), "content-type": OCTETS },
        body: mp4.slice(SENT),
      });
      await expectRefusal(patch, 404, "not_found");
      const del = await callApp(path, { method: "DELETE", headers: { ...stranger.auth, ...TUS } });
      await expectRefusal(del, 404, "not_found");
    });
    expect(await offsetOf(path, user.auth)).toBe(String(SENT));
  });

  it("answers a PATCH to an upload that does not exist with 404", async () => {
    const res = await callApp(`/api/uploads/${crypto.randomUUID()}`, {
      method: "PATCH",
      headers: { authorization: `Token ${owner.key}`, ...TUS, "upload-offset": "0", "content-type": OCTETS },
      body: mp4.slice(0, 1024),
    });
    await expectRefusal(res, 404, "not_found");
  });

  it("gives tus answers to a foreign origin no CORS headers", async () => {
    const user = await signedInUser();
    const res = await tusPost(
      { ...user.auth, origin: "http://evil.example" },
      { ...TUS, "upload-length": "1000", "upload-metadata": tusMetadata(META) },
    );
    expect(res.status).toBe(201);
    expect([...res.headers.keys()].filter((name) => name.startsWith("access-control-"))).toEqual([]);
  });
});

describe("classic upload refusals", () => {
  const video = () => new Blob([tinyMp4()], { type: "video/mp4" });
  const post = (auth: Record<string, string>, init: { headers?: Record<string, string>; body: BodyInit }) =>
    callApp(
      "/api/videos/upload/",
      { method: "POST", headers: { ...auth, ...init.headers }, body: init.body },
      recordingQueue().queue,
    );

  it.each([
    [
      "a title smuggling a header line",
      400,
      "validation_error",
      { title: "Clip\r\nSet-Cookie: session=1", file: video() },
    ],
    ["a title with a right-to-left override", 400, "validation_error", { title: "clip\u202Egnp.exe", file: video() }],
    ["a title of 201 characters", 400, "validation_error", { title: "t".repeat(201), file: video() }],
    ["a file field that is plain text", 415, "unsupported_media_type", { title: "Clip", file: "just some text" }],
  ])("refuses a form with %s with %i, storing nothing", async (_, status, code, fields) => {
    const user = await signedInUser();
    await expectNothingStored(async () => {
      const res = await post(user.auth, { body: form(fields as Record<string, string | Blob>) });
      expectNoCookie(res);
      await expectRefusal(res, status, code);
    });
  });

  it.each([
    ["multipart without a boundary", 415, "unsupported_media_type", "multipart/form-data", "--x\r\n"],
    ["a boundary the body never uses", 400, "bad_request", "multipart/form-data; boundary=abc", "no parts here"],
    [
      "a body that ends inside the file",
      400,
      "bad_request",
      "multipart/form-data; boundary=abc",
      '--abc\r\nContent-Disposition: form-data; name="title"\r\n\r\nT\r\n--abc\r\nContent-Disposition: form-data; name="file"; filename="a.mp4"\r\nContent-Type: video/mp4\r\n\r\n\u0000\u0000\u0000 ftypisom',
    ],
    ["JSON instead of a form", 415, "unsupported_media_type", "application/json", '{"title": "Clip"}'],
  ])("refuses %s with %i, storing nothing", async (_, status, code, type, body) => {
    const user = await signedInUser();
    await expectNothingStored(async () => {
      await expectRefusal(await post(user.auth, { headers: { "content-type": type }, body }), status, code);
    });
  });
});

describe("filenames built to break out of Content-Disposition", () => {
  const SAFE_DISPOSITION = /^attachment; filename="[A-Za-z0-9._-]+"$/;

  it("keeps a tus filename with quotes, CR/LF and a header inside a safe Content-Disposition", async () => {
    const user = await signedInUser();
    const mp4 = tinyMp4();
    const filename = "evil\"; filename*=UTF-8''x.exe\r\nSet-Cookie: session=1\r\n\r\n.mp4";
    const created = await tusPost(user.auth, {
      ...TUS,
      "upload-length": String(mp4.length),
      "upload-metadata": tusMetadata({ ...META, filename }),
    });
    expect(created.status).toBe(201);
    const path = new URL(created.headers.get("location") ?? "").pathname;
    const done = await callApp(
      path,
      { method: "PATCH", headers: { ...user.auth, ...TUS, "upload-offset": "0", "content-type": OCTETS }, body: mp4 },
      recordingQueue().queue,
    );
    expect(done.status).toBe(204);
    const source = await callApp(`/api/videos/${created.headers.get("video-id")}/source/`, { headers: user.auth });
    expect(source.status).toBe(200);
    expectNoCookie(source);
    expect(source.headers.get("content-disposition")).toMatch(SAFE_DISPOSITION);
    expect(new Uint8Array(await source.arrayBuffer())).toEqual(mp4);
  });

  it("keeps a classic upload's filename with quotes and newlines inside a safe Content-Disposition", async () => {
    const user = await signedInUser();
    const res = await callApp(
      "/api/videos/upload/",
      {
        method: "POST",
        headers: user.auth,
        body: form(
          { title: "Quoted", file: new Blob([tinyMp4()], { type: "video/mp4" }) },
          'a"b\r\nSet-Cookie: x=1.mp4',
        ),
      },
      recordingQueue().queue,
    );
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };
    const source = await callApp(`/api/videos/${id}/source/`, { headers: user.auth });
    expect(source.status).toBe(200);
    expectNoCookie(source);
    expect(source.headers.get("content-disposition")).toMatch(SAFE_DISPOSITION);
  });
});

describe("after every hostile request", () => {
  it("is healthy: /healthz answers and a key issued before still works", async () => {
    await expectHealthy(`Token ${owner.key}`);
  });
});
