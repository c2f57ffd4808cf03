/**
 * The security rules, checked for every operation the API description lists, so a new route is
 * covered the day it is documented:
 *  - an operation whose `security` does not allow anonymous callers answers 401 without a key;
 *  - an operation on a video or an upload answers 404 to anyone but the owner of a private one,
 *    exactly as if it did not exist (never 403, which would confirm it does);
 *  - an admin operation answers 403 to a signed-in user who is not an admin.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { sourceKey } from "../storage/keys";
import { callApp, signedInUser } from "../testing/api";
import { seedReadyVideo, tinyMp4 } from "../testing/seed";
import { seedViewerFeatures } from "../testing/viewer";
import { expectRefusal, rawCall } from "./bad-input.helpers";

interface Parameter {
  name: string;
  in: string;
  required?: boolean;
  example?: unknown;
  schema?: { example?: unknown };
}

interface Operation {
  method: string;
  path: string;
  tags: string[];
  security?: Record<string, string[]>[];
  requestBody?: { content: Record<string, unknown> };
  parameters?: Parameter[];
}

async function operations(): Promise<Operation[]> {
  const res = await callApp("/openapi.json");
  const doc = (await res.json()) as { paths: Record<string, Record<string, Omit<Operation, "method" | "path">>> };
  return Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => ({ method: method.toUpperCase(), path, ...op })),
  );
}

const ops = await operations();
const requiresKey = (op: Operation) =>
  (op.security?.length ?? 0) > 0 && !op.security?.some((s) => Object.keys(s).length === 0);
const name = (op: Operation) => `${op.method} ${op.path}`;

/** A refusal in the envelope; a HEAD answer has no body, so only its status and request id show. */
async function expectRefused(res: Response, status: number, code: string) {
  if (res.status === status && (await res.clone().text()) === "") {
    expect(res.headers.get("x-request-id")).toBeTruthy();
    return;
  }
  await expectRefusal(res, status, code);
}

/** What each kind of operation needs to get past body and protocol checks, so the rule under test decides. */
function requestFor(op: Operation, params: Record<string, string>, authorization?: string) {
  // Parameters the test does not set take the example the description gives them (a caption's
  // language, a download's file name); required query parameters are sent with theirs.
  const example = (name: string, where: string) => {
    const p = op.parameters?.find((x) => x.name === name && x.in === where);
    const value = p?.example ?? p?.schema?.example;
    return value === undefined ? undefined : String(value);
  };
  const query = new URLSearchParams();
  for (const p of op.parameters ?? []) {
    const value = p.in === "query" && p.required ? example(p.name, "query") : undefined;
    if (value !== undefined) query.set(p.name, value);
  }
  const path =
    op.path.replace(/\{(\w+)\}/g, (_, p: string) => params[p] ?? example(p, "path") ?? "unknown") +
    (query.size > 0 ? `?${query}` : "");
  const headers: Record<string, string> = authorization ? { authorization } : {};
  let body: BodyInit | undefined;
  if (op.tags.includes("Uploads")) {
    headers["tus-resumable"] = "1.0.0";
    if (op.method === "PATCH") {
      headers["content-type"] = "application/offset+octet-stream";
      headers["upload-offset"] = "0";
      body = new Uint8Array(16);
    }
  } else if (op.requestBody?.content["application/json"]) {
    headers["content-type"] = "application/json";
    body = op.method === "PATCH" || op.method === "PUT" ? JSON.stringify({ title: "Mine now" }) : "{}";
  }
  return rawCall(op.method, path, { headers, body });
}

describe("every operation that needs a key", () => {
  const secured = ops.filter(requiresKey);

  it("is described (the suite has something to check)", () => {
    expect(secured.length).toBeGreaterThan(15);
  });

  it.each(secured.map((op) => [name(op), op] as const))("%s answers 401 without a key", async (_, op) => {
    const res = await requestFor(op, { id: crypto.randomUUID(), title: "some-video" });
    await expectRefused(res, 401, "unauthorized");
  });
});

describe("every operation on a video or upload of someone else's", () => {
  const perVideo = ops.filter((op) => /\{(id|title)\}/.test(op.path) && !op.tags.includes("Admin"));

  it("is described", () => {
    expect(perVideo.map(name)).toEqual(
      expect.arrayContaining(["GET /api/videos/{title}", "PATCH /api/videos/{id}", "DELETE /api/videos/{id}"]),
    );
  });

  it.each(perVideo.map((op) => [name(op), op] as const))(
    "%s answers 404 for another user's private video, as for one that does not exist",
    async (_, op) => {
      const owner = await signedInUser();
      const video = await seedReadyVideo({ ownerId: owner.id, visibility: "private" });
      await env.MEDIA.put(sourceKey(video.id), tinyMp4());
      // Everything a viewer may ask of it exists for its owner: storyboard, thumbnails, downloads, captions.
      await seedViewerFeatures(video);
      const stranger = await signedInUser();
      const theirs = await requestFor(op, { id: video.id, title: video.id }, stranger.auth.authorization);
      await expectRefused(theirs, 404, "not_found");
      const missing = await requestFor(
        op,
        { id: crypto.randomUUID(), title: "no-such-video" },
        stranger.auth.authorization,
      );
      await expectRefused(missing, 404, "not_found");
      // The owner still reaches it: the 404 is about who asks, not about the video. (An upload's
      // operations need an upload, which a ready video no longer has.)
      if (op.method === "GET" && !op.tags.includes("Uploads") && !op.tags.includes("Direct uploads")) {
        const own = await requestFor(op, { id: video.id, title: video.id }, owner.auth.authorization);
        expect(own.status, await own.clone().text()).toBeLessThan(400);
      }
    },
  );
});

describe("every admin operation", () => {
  const admin = ops.filter((op) => op.tags.includes("Admin"));

  it("is described", () => {
    expect(admin.length).toBeGreaterThan(1);
  });

  it.each(admin.map((op) => [name(op), op] as const))("%s answers 403 to a user who is not an admin", async (_, op) => {
    const user = await signedInUser();
    const res = await requestFor(op, { id: crypto.randomUUID() }, user.auth.authorization);
    await expectRefusal(res, 403, "forbidden");
  });
});
