/**
 * Hostile and broken JSON requests, query strings and request headers: each is refused with the
 * right 4xx in the error envelope, nothing it carried is stored, and the API keeps working.
 * Tokens, uploads and playback paths have their own files beside this one.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { MAX_PASSWORD_LENGTH } from "../auth/passwords";
import { MAX_JSON_BODY_BYTES } from "../middleware/body-limit";
import { apiClient, type KeyWithUser, signedInUser } from "../testing/api";
import { seedReadyVideo, seedVideo } from "../testing/seed";
import { expectHealthy, expectNothingStored, expectRefusal, rawCall } from "./bad-input.helpers";

const REGISTRATION = "/api/auth/registration/";
const LOGIN = "/api/auth/login/";
const PASSWORD = "correct horse battery";

let owner: Awaited<ReturnType<typeof signedInUser>>;
beforeAll(async () => {
  owner = await signedInUser();
});

const registration = (username: string, email = `${crypto.randomUUID().slice(0, 8)}@example.com`) => ({
  username,
  email,
  password1: PASSWORD,
  password2: PASSWORD,
});

/** A JSON text of exactly `bytes` bytes: a registration whose username is invalid, padded by an ignored field. */
function jsonOfSize(bytes: number): string {
  const head = '{"username":"","pad":"';
  const tail = '"}';
  return `${head}${"x".repeat(bytes - head.length - tail.length)}${tail}`;
}

const detailPaths = (error: { details?: unknown }) =>
  ((error.details ?? []) as { path: string }[]).map((d) => d.path).sort();

describe("malformed JSON", () => {
  it.each([
    ["a truncated object", LOGIN, '{"username": "ada", "password": '],
    ["single-quoted keys", REGISTRATION, "{'username': 'ada'}"],
    ["a trailing comma", LOGIN, '{"username": "ada", "password": "x",}'],
    ["an empty body", LOGIN, ""],
    ["a NaN literal", REGISTRATION, '{"username": NaN}'],
  ])("refuses %s with 400 invalid_json", async (_, path, rawBody) => {
    await expectNothingStored(async () => {
      await expectRefusal(await apiClient().call("POST", path, { rawBody }), 400, "invalid_json");
    });
  });
});

describe("oversized JSON", () => {
  const huge = JSON.stringify({ ...registration("huge"), pad: "z".repeat(2 * 1024 * 1024) });

  it("refuses 2 MB of JSON to registration with 413 before reading it, creating no account", async () => {
    await expectNothingStored(async () => {
      const error = await expectRefusal(
        await apiClient().call("POST", REGISTRATION, { rawBody: huge }),
        413,
        "payload_too_large",
      );
      expect(error.message).toContain(String(MAX_JSON_BODY_BYTES));
    });
  });

  it("refuses 2 MB of JSON to login with 413", async () => {
    const body = JSON.stringify({ username: owner.user.username, password: PASSWORD, pad: "z".repeat(2_000_000) });
    await expectRefusal(await apiClient().call("POST", LOGIN, { rawBody: body }), 413, "payload_too_large");
  });

  it("refuses 2 MB of JSON streamed without a length with 413", async () => {
    const bytes = new TextEncoder().encode(huge);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let at = 0; at < bytes.length; at += 64 * 1024) controller.enqueue(bytes.slice(at, at + 64 * 1024));
        controller.close();
      },
    });
    await expectNothingStored(async () => {
      const res = await rawCall("POST", REGISTRATION, {
        headers: { "content-type": "application/json" },
        body: stream,
      });
      await expectRefusal(res, 413, "payload_too_large");
    });
  });

  it("reads a JSON body of exactly the limit, and refuses one byte more", async () => {
    const atLimit = await apiClient().call("POST", REGISTRATION, { rawBody: jsonOfSize(MAX_JSON_BODY_BYTES) });
    const error = await expectRefusal(atLimit, 400, "validation_error");
    expect(detailPaths(error)).toContain("username");
    const over = await apiClient().call("POST", REGISTRATION, { rawBody: jsonOfSize(MAX_JSON_BODY_BYTES + 1) });
    await expectRefusal(over, 413, "payload_too_large");
  });

  it("refuses 2 MB of JSON to an authenticated PATCH with 413, changing nothing", async () => {
    const res = await owner.client.call("PATCH", "/api/auth/user/", {
      key: owner.key,
      rawBody: JSON.stringify({ first_name: "x".repeat(2_000_000) }),
    });
    await expectRefusal(res, 413, "payload_too_large");
    const me = await owner.client.call("GET", "/api/auth/user/", { key: owner.key });
    expect(((await me.json()) as { first_name: string }).first_name).toBe("");
  });

  it("refuses JSON nested 100,000 deep with 400, without falling over", async () => {
    const res = await apiClient().call("POST", LOGIN, { rawBody: `${"[".repeat(100_000)}${"]".repeat(100_000)}` });
    const error = await expectRefusal(res, 400, "validation_error");
    expect(detailPaths(error)).toEqual([""]);
  });
});

describe("wrong types, missing fields and extra fields", () => {
  it.each([
    ["an array for the object", LOGIN, [], [""]],
    ["null for the object", LOGIN, null, [""]],
    ["a string for the object", LOGIN, "ada", [""]],
    [
      "numbers for strings",
      REGISTRATION,
      { username: 12345, email: 42, password1: 1, password2: 1 },
      ["email", "password1", "password2", "username"],
    ],
    ["an array for a string", LOGIN, { username: ["ada"], password: PASSWORD }, ["username"]],
    ["an operator object for a password", LOGIN, { username: "ada", password: { $ne: null } }, ["password"]],
    ["booleans for names", "/api/auth/user/", { first_name: true, last_name: false }, ["first_name", "last_name"]],
    ["no fields at all", REGISTRATION, {}, ["email", "password1", "password2", "username"]],
    ["no password", LOGIN, { username: "ada" }, ["password"]],
    ["neither username nor email", LOGIN, { password: PASSWORD }, ["username"]],
  ])("refuses %s with 400 validation_error naming the fields", async (_, path, body, paths) => {
    const authenticated = path === "/api/auth/user/";
    await expectNothingStored(async () => {
      const client = authenticated ? owner.client : apiClient();
      const res = await client.call(authenticated ? "PATCH" : "POST", path, {
        rawBody: JSON.stringify(body),
        ...(authenticated ? { key: owner.key } : {}),
      });
      const error = await expectRefusal(res, 400, "validation_error");
      expect(detailPaths(error)).toEqual(paths);
    });
  });

  it("ignores privileged extra fields at registration: no admin, no chosen id", async () => {
    const username = `extra_${crypto.randomUUID().slice(0, 8)}`;
    const res = await apiClient().call("POST", REGISTRATION, {
      body: { ...registration(username), is_admin: true, isAdmin: true, id: "chosen-id", pk: "chosen-id" },
    });
    expect(res.status).toBe(201);
    const { user } = (await res.json()) as KeyWithUser;
    expect(user.id).not.toBe("chosen-id");
    const row = await env.DB.prepare("SELECT id, is_admin FROM users WHERE username = ?")
      .bind(username)
      .first<{ id: string; is_admin: number }>();
    expect(row).toEqual({ id: user.id, is_admin: 0 });
  });

  it("ignores read-only fields on PATCH /api/auth/user/", async () => {
    const before = (await (await owner.client.call("GET", "/api/auth/user/", { key: owner.key })).json()) as object;
    const res = await owner.client.call("PATCH", "/api/auth/user/", {
      key: owner.key,
      body: { id: "other", pk: "other", date_joined: "2000-01-01T00:00:00.000Z", is_admin: true, password: "x" },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(before);
    const row = await env.DB.prepare("SELECT is_admin FROM users WHERE id = ?")
      .bind(owner.user.id)
      .first<{ is_admin: number }>();
    expect(row?.is_admin).toBe(0);
  });
});

describe("unicode, control characters and very long strings", () => {
  it.each([
    ["a NUL", "ab\u0000cd"],
    ["a right-to-left override", "admin\u202Enimda"],
    ["a zero-width joiner", "ad\u200Dmin"],
    ["an emoji", "ada😀"],
    ["CR/LF and a header", "ada\r\nSet-Cookie: session=1"],
    ["151 characters", "a".repeat(151)],
  ])("refuses a username with %s with 400, creating no account", async (_, username) => {
    await expectNothingStored(async () => {
      const res = await apiClient().call("POST", REGISTRATION, { body: registration(username) });
      const error = await expectRefusal(res, 400, "validation_error");
      expect(detailPaths(error)).toEqual(["username"]);
    });
  });

  it("refuses a full-width copy of an existing username as taken", async () => {
    const { user } = await signedInUser({ username: `Wide${crypto.randomUUID().slice(0, 8)}` });
    // "Ｗｉｄｅ…": the same letters and digits in their full-width forms, equal under NFKC.
    const fullWidth = [...user.username].map((ch) => String.fromCodePoint((ch.codePointAt(0) ?? 0) + 0xfee0)).join("");
    expect(fullWidth).not.toBe(user.username);
    expect(fullWidth.normalize("NFKC")).toBe(user.username);
    await expectNothingStored(async () => {
      const res = await apiClient().call("POST", REGISTRATION, { body: registration(fullWidth) });
      const error = await expectRefusal(res, 400, "validation_error");
      expect(error.details).toEqual([expect.objectContaining({ path: "username", code: "unique" })]);
    });
  });

  it("refuses an email with CR/LF and a header with 400", async () => {
    await expectNothingStored(async () => {
      const res = await apiClient().call("POST", REGISTRATION, {
        body: registration("crlf_mail", "a@example.com\r\nBcc: all@example.com"),
      });
      const error = await expectRefusal(res, 400, "validation_error");
      expect(detailPaths(error)).toEqual(["email"]);
    });
  });

  it("refuses a password above the maximum length with 400 before hashing it", async () => {
    const res = await apiClient().call("POST", LOGIN, {
      body: { username: owner.user.username, password: "p".repeat(MAX_PASSWORD_LENGTH + 1) },
    });
    const error = await expectRefusal(res, 400, "validation_error");
    expect(detailPaths(error)).toEqual(["password"]);
  });

  it.each([
    ["a NUL", "before\u0000after"],
    ["CR/LF and a header", "Title\r\nSet-Cookie: session=1"],
    ["a right-to-left override", "clip\u202Egnp.exe"],
    ["a left-to-right isolate", "clip\u2066inner\u2069"],
    ["201 characters", "t".repeat(201)],
    ["only whitespace", " \t "],
    ["a number", 42],
    ["an object", { en: "Title" }],
  ])("refuses a video title with %s with 400, keeping the old title", async (_, title) => {
    const video = await seedReadyVideo({ ownerId: owner.user.id, title: "Kept" });
    const res = await owner.client.call("PATCH", `/api/videos/${video.id}/`, { key: owner.key, body: { title } });
    const error = await expectRefusal(res, 400, "validation_error");
    expect(detailPaths(error)).toEqual(["title"]);
    const row = await env.DB.prepare("SELECT title FROM videos WHERE id = ?").bind(video.id).first<{ title: string }>();
    expect(row?.title).toBe("Kept");
  });

  it("keeps emoji and zero-width joiners in titles exactly, as JSON", async () => {
    const title = "👩‍👩‍👧 family trip ☀️ — ünïcödé";
    const video = await seedReadyVideo({ ownerId: owner.user.id });
    const res = await owner.client.call("PATCH", `/api/videos/${video.id}/`, { key: owner.key, body: { title } });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { title: string }).title).toBe(title);
    const again = await owner.client.call("GET", `/api/videos/${video.id}/`, { key: owner.key });
    expect(((await again.json()) as { title: string }).title).toBe(title);
  });

  it("refuses an unknown visibility with 400", async () => {
    const video = await seedReadyVideo({ ownerId: owner.user.id });
    const res = await owner.client.call("PATCH", `/api/videos/${video.id}/`, {
      key: owner.key,
      body: { visibility: "PUBLIC" },
    });
    const error = await expectRefusal(res, 400, "validation_error");
    expect(detailPaths(error)).toEqual(["visibility"]);
  });

  it.each([
    ["ttl_seconds as a string", { ttl_seconds: "3600" }],
    ["a negative ttl_seconds", { ttl_seconds: -5 }],
    ["a fractional ttl_seconds", { ttl_seconds: 90.5 }],
  ])("refuses a playback token with %s with 400", async (_, body) => {
    const video = await seedReadyVideo({ ownerId: owner.user.id, visibility: "private" });
    const res = await owner.client.call("POST", `/api/videos/${video.id}/playback-token/`, { key: owner.key, body });
    const error = await expectRefusal(res, 400, "validation_error");
    expect(detailPaths(error)).toEqual(["ttl_seconds"]);
  });
});

describe("query parameters of the wrong type", () => {
  it.each([
    ["page=-1", "page"],
    ["page=0", "page"],
    ["page=abc", "page"],
    ["page=1.5", "page"],
    ["page=1e309", "page"],
    ["page=100001", "page"],
    ["page_size=abc", "page_size"],
    ["page_size=0", "page_size"],
    ["page_size=1000", "page_size"],
    ["status=bogus", "status"],
    ["mine=yes", "mine"],
    [`search=${"s".repeat(201)}`, "search"],
  ])("refuses GET /api/videos/?%s with 400 naming the parameter", async (query, path) => {
    const error = await expectRefusal(await apiClient().call("GET", `/api/videos/?${query}`), 400, "validation_error");
    expect(detailPaths(error)).toEqual([path]);
  });

  it("refuses ?format=xml on a video with 400", async () => {
    const video = await seedReadyVideo();
    const res = await apiClient().call("GET", `/api/videos/${video.slug}/?format=xml`);
    const error = await expectRefusal(res, 400, "validation_error");
    expect(detailPaths(error)).toEqual(["format"]);
  });

  it("refuses ?mine=1 without a key with 401", async () => {
    await expectRefusal(await apiClient().call("GET", "/api/videos/?mine=1"), 401, "unauthorized");
  });

  it("treats SQL and LIKE syntax in ?search= as text: nothing private comes back", async () => {
    await seedVideo({ title: "secret plans", visibility: "private", status: "ready" });
    for (const search of ["%", "_", "' OR 1=1 --", "%' OR visibility='private' --", "\\"]) {
      const res = await apiClient().call("GET", `/api/videos/?search=${encodeURIComponent(search)}`);
      expect(res.status).toBe(200);
      const page = (await res.json()) as { results: { visibility: string; title: string }[] };
      expect(page.results.filter((v) => v.visibility !== "public")).toEqual([]);
      expect(page.results.map((v) => v.title)).not.toContain("secret plans");
    }
  });
});

describe("hostile request headers", () => {
  it.each([
    ["markup", "<script>alert(1)</script>"],
    ["a path", "../../etc/passwd"],
    ["10,000 characters", "r".repeat(10_000)],
  ])("replaces an X-Request-Id with %s by a fresh one", async (_, incoming) => {
    const res = await apiClient().call("GET", "/api/nothing-here/", { headers: { "x-request-id": incoming } });
    const error = await expectRefusal(res, 404, "not_found");
    expect(error.requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("answers an unknown method with 405 and Allow", async () => {
    const res = await apiClient().call("PROPFIND", "/api/videos/");
    expect(res.headers.get("allow")).toBe("GET");
    await expectRefusal(res, 405, "method_not_allowed");
  });

  it.each([
    ["text/plain", "text/plain"],
    ["multipart/form-data", "multipart/form-data; boundary=x"],
    ["application/x-www-form-urlencoded", "application/x-www-form-urlencoded"],
  ])("refuses a login body sent as %s with 415", async (_, type) => {
    const res = await rawCall("POST", LOGIN, {
      headers: { "content-type": type },
      body: JSON.stringify({ username: owner.user.username, password: PASSWORD }),
    });
    await expectRefusal(res, 415, "unsupported_media_type");
  });
});

describe("after every hostile request", () => {
  it("is healthy: /healthz answers and a key issued before still works", async () => {
    await expectHealthy(`Token ${owner.key}`);
  });
});
