/**
 * Credentials of every wrong shape: API keys on the public API and job tokens on the internal job
 * API. Each is refused with 401 in the error envelope, never treated as anonymous, and opens
 * nothing; the API keeps working afterwards.
 */
import { env } from "cloudflare:workers";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DEV_JOB_TOKEN_SECRET } from "../app/settings";
import { jobs } from "../db/schema";
import { sourceKey, versionPrefix } from "../storage/keys";
import { registerUser } from "../testing/api";
import { mp4Like } from "../testing/http";
import { seedVideo, testDb } from "../testing/seed";
import { base64url, mintJobToken } from "../transcode/job-token";
import { claimJob, newVersion } from "../transcode/jobs";
import { expectHealthy, expectNothingStored, expectRefusal, rawCall } from "./bad-input.helpers";

let owner: Awaited<ReturnType<typeof registerUser>>;
beforeAll(async () => {
  owner = await registerUser();
});

const UNKNOWN_KEY = "ab".repeat(32);

describe("API keys of every wrong shape", () => {
  const shapes: [string, () => string][] = [
    ["the scheme alone", () => "Token"],
    ["the scheme and a space", () => "Token "],
    ["an unknown well-formed key", () => `Token ${UNKNOWN_KEY}`],
    ["Bearer with garbage", () => "Bearer garbage"],
    ["Basic credentials", () => "Basic dXNlcjpwYXNz"],
    ["a key with a space inside", () => `Token ${owner.key.slice(0, 32)} ${owner.key.slice(32)}`],
    ["a key with non-ASCII letters", () => `Token ${owner.key.slice(0, 62)}\u00e9\u00e9`],
    ["a real key in capitals", () => `Token ${owner.key.toUpperCase()}`],
    ["a real key with a character more", () => `Token ${owner.key}0`],
    ["a real key cut short", () => `Token ${owner.key.slice(0, 63)}`],
    ["two credentials", () => `Token ${owner.key}, Token ${owner.key}`],
    ["an unknown scheme with a real key", () => `Key ${owner.key}`],
    ["a 64 KiB header", () => `Token ${"a".repeat(64 * 1024)}`],
  ];

  it.each(shapes)("refuses %s with 401 even where anonymous calls are allowed", async (_, header) => {
    const res = await rawCall("GET", "/api/videos/", { headers: { authorization: header() } });
    expect(res.headers.get("www-authenticate")).toBe('Token realm="api"');
    await expectRefusal(res, 401, "unauthorized");
  });

  it.each(shapes.slice(0, 4))("refuses %s on an authenticated upload with 401, storing nothing", async (_, header) => {
    await expectNothingStored(async () => {
      const body = new FormData();
      body.append("title", "Not mine");
      body.append("file", new Blob([mp4Like(4096)], { type: "video/mp4" }), "a.mp4");
      const res = await rawCall("POST", "/api/videos/upload/", { headers: { authorization: header() }, body });
      await expectRefusal(res, 401, "unauthorized");
    });
  });

  it("refuses a key after logout with 401", async () => {
    const { key, client } = await registerUser();
    expect((await client.call("POST", "/api/auth/logout/", { key })).status).toBe(200);
    await expectRefusal(await client.call("GET", "/api/auth/user/", { key }), 401, "unauthorized");
  });
});

/** A claimed job with its source in R2, and a valid token for it. */
async function runningJob() {
  const video = await seedVideo({ status: "queued" });
  const db = testDb();
  await db.insert(jobs).values({ id: crypto.randomUUID(), videoId: video.id, version: newVersion() });
  const job = await claimJob(db, video.id, 120);
  if (!job) throw new Error("claim failed");
  await env.MEDIA.put(sourceKey(video.id), new Uint8Array(1000).fill(7));
  const claims = { jobId: job.id, attempt: job.attempts, expiresAt: Math.floor(Date.now() / 1000) + 600 };
  return { video, job, claims, token: await mintJobToken(DEV_JOB_TOKEN_SECRET, claims) };
}

describe("job tokens of every wrong shape on the internal job API", () => {
  let ctx: Awaited<ReturnType<typeof runningJob>>;
  let other: Awaited<ReturnType<typeof runningJob>>;
  beforeEach(async () => {
    ctx = await runningJob();
    other = await runningJob();
  });

  const shapes: [string, () => Promise<string | null>][] = [
    ["no Authorization header", async () => null],
    ["Bearer without a token", async () => "Bearer"],
    ["the right token under the Token scheme", async () => `Token ${ctx.token}`],
    ["three dot-separated parts", async () => "Bearer a.b.c"],
    ["characters outside base64url", async () => `Bearer ${ctx.token.replace(/.$/, "+")}`],
    [
      "a tampered signature",
      async () => {
        const [p, s] = ctx.token.split(".") as [string, string];
        return `Bearer ${p}.${s.startsWith("A") ? `B${s.slice(1)}` : `A${s.slice(1)}`}`;
      },
    ],
    [
      "a payload raised to the next attempt under the old signature",
      async () => {
        const [, s] = ctx.token.split(".") as [string, string];
        const raised = { j: ctx.claims.jobId, a: ctx.claims.attempt + 1, e: ctx.claims.expiresAt };
        return `Bearer ${base64url(new TextEncoder().encode(JSON.stringify(raised)))}.${s}`;
      },
    ],
    ["a token signed with another secret", async () => `Bearer ${await mintJobToken("another-secret", ctx.claims)}`],
    [
      "an expired token",
      async () =>
        `Bearer ${await mintJobToken(DEV_JOB_TOKEN_SECRET, { ...ctx.claims, expiresAt: Math.floor(Date.now() / 1000) - 1 })}`,
    ],
    ["another job's token", async () => `Bearer ${other.token}`],
    ["a user's API key", async () => `Bearer ${owner.key}`],
    [
      "well-signed claims of the wrong types",
      async () => {
        const body = base64url(new TextEncoder().encode(JSON.stringify({ j: 1, a: "1", e: "never" })));
        const key = await crypto.subtle.importKey(
          "raw",
          new TextEncoder().encode(DEV_JOB_TOKEN_SECRET),
          { name: "HMAC", hash: "SHA-256" },
          false,
          ["sign"],
        );
        const sig = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(body));
        return `Bearer ${body}.${base64url(new Uint8Array(sig))}`;
      },
    ],
    ["a 2,000-character token", async () => `Bearer ${"A".repeat(1000)}.${"B".repeat(1000)}`],
  ];

  it.each(shapes)("refuses %s with 401 on source, files and events, changing nothing", async (_, header) => {
    const authorization = await header();
    const headers: Record<string, string> = authorization === null ? {} : { authorization };
    await expectNothingStored(async () => {
      await expectRefusal(
        await rawCall("GET", `/internal/jobs/${ctx.job.id}/source`, { headers }),
        401,
        "unauthorized",
      );
      const put = await rawCall("PUT", `/internal/jobs/${ctx.job.id}/files/manifest.mpd`, {
        headers,
        body: "<MPD/>",
      });
      await expectRefusal(put, 401, "unauthorized");
      const event = await rawCall("POST", `/internal/jobs/${ctx.job.id}/events`, {
        headers: { ...headers, "content-type": "application/json" },
        body: JSON.stringify({ type: "failed", code: "transcode_failed", message: "forged" }),
      });
      await expectRefusal(event, 401, "unauthorized");
    });
    const job = await env.DB.prepare("SELECT status FROM jobs WHERE id = ?")
      .bind(ctx.job.id)
      .first<{ status: string }>();
    expect(job?.status).toBe(ctx.job.status);
    expect((await env.MEDIA.list({ prefix: versionPrefix(ctx.video.id, ctx.job.version) })).objects).toEqual([]);
  });

  it("refuses a valid token under a traversed job id with 401", async () => {
    const res = await rawCall("GET", `/internal/jobs/..%2F${ctx.job.id}/source`, {
      headers: { authorization: `Bearer ${ctx.token}` },
    });
    await expectRefusal(res, 401, "unauthorized");
  });
});

describe("after every hostile request", () => {
  it("is healthy: /healthz answers and a key issued before still works", async () => {
    await expectHealthy(`Token ${owner.key}`);
  });
});
