/**
 * Credentials of every wrong shape: API keys on the public API, runner tokens on claims, and unit
 * tokens on the internal unit API. Each is refused with 401 in the error envelope, never treated
 * as anonymous, and opens nothing; the API keeps working afterwards.
 */
import { env } from "cloudflare:workers";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DEV_JOB_TOKEN_SECRET } from "../app/settings";
import { versionPrefix } from "../storage/keys";
import { signedInUser } from "../testing/api";
import { mp4Like } from "../testing/http";
import { seedClaimedUnit, testDeps } from "../testing/units";
import { revokeRunner } from "../transcode/lifecycle";
import { base64url, mintUnitToken } from "../transcode/unit-token";
import { expectHealthy, expectNothingStored, expectRefusal, rawCall } from "./bad-input.helpers";

let owner: Awaited<ReturnType<typeof signedInUser>>;
beforeAll(async () => {
  owner = await signedInUser();
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
    const { key, client } = await signedInUser();
    expect((await client.call("POST", "/api/auth/logout/", { key })).status).toBe(200);
    await expectRefusal(await client.call("GET", "/api/auth/user/", { key }), 401, "unauthorized");
  });
});

/** A claimed unit with its source in R2, the claims of its token, and the token. */
async function runningUnit() {
  const seeded = await seedClaimedUnit({}, new Uint8Array(1000).fill(7));
  const claims = {
    unitId: seeded.unitId,
    attempt: seeded.assignment.attempt,
    runnerId: seeded.runner.id,
    expiresAt: Math.floor(Date.now() / 1000) + 600,
  };
  return { ...seeded, claims };
}

describe("unit tokens of every wrong shape on the internal unit API", () => {
  let ctx: Awaited<ReturnType<typeof runningUnit>>;
  let other: Awaited<ReturnType<typeof runningUnit>>;
  beforeEach(async () => {
    ctx = await runningUnit();
    other = await runningUnit();
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
        const raised = {
          u: ctx.claims.unitId,
          a: ctx.claims.attempt + 1,
          r: ctx.claims.runnerId,
          e: ctx.claims.expiresAt,
        };
        return `Bearer ${base64url(new TextEncoder().encode(JSON.stringify(raised)))}.${s}`;
      },
    ],
    ["a token signed with another secret", async () => `Bearer ${await mintUnitToken("another-secret", ctx.claims)}`],
    [
      "an expired token",
      async () =>
        `Bearer ${await mintUnitToken(DEV_JOB_TOKEN_SECRET, { ...ctx.claims, expiresAt: Math.floor(Date.now() / 1000) - 1 })}`,
    ],
    ["another unit's token", async () => `Bearer ${other.token}`],
    [
      "this unit's claims for another runner, well signed",
      async () => `Bearer ${await mintUnitToken(DEV_JOB_TOKEN_SECRET, { ...ctx.claims, runnerId: other.runner.id })}`,
    ],
    ["its runner's token", async () => `Bearer ${ctx.runnerToken}`],
    ["a user's API key", async () => `Bearer ${owner.key}`],
    [
      "well-signed claims of the wrong types",
      async () => {
        const body = base64url(new TextEncoder().encode(JSON.stringify({ u: 1, a: "1", r: null, e: "never" })));
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
        await rawCall("GET", `/internal/units/${ctx.unitId}/source`, { headers }),
        401,
        "unauthorized",
      );
      const put = await rawCall("PUT", `/internal/units/${ctx.unitId}/files/manifest.mpd`, {
        headers,
        body: "<MPD/>",
      });
      await expectRefusal(put, 401, "unauthorized");
      const event = await rawCall("POST", `/internal/units/${ctx.unitId}/events`, {
        headers: { ...headers, "content-type": "application/json" },
        body: JSON.stringify({ type: "failed", code: "transcode_failed", message: "forged" }),
      });
      await expectRefusal(event, 401, "unauthorized");
    });
    const unit = await env.DB.prepare("SELECT status, attempt, progress FROM work_units WHERE id = ?")
      .bind(ctx.unitId)
      .first<{ status: string; attempt: number; progress: number }>();
    expect(unit).toEqual({ status: "running", attempt: ctx.claims.attempt, progress: 0 });
    expect((await env.MEDIA.list({ prefix: versionPrefix(ctx.video.id, ctx.job.version) })).objects).toEqual([]);
  });

  it("refuses a valid token under a traversed unit id with 401", async () => {
    const res = await rawCall("GET", `/internal/units/..%2F${ctx.unitId}/source`, {
      headers: { authorization: `Bearer ${ctx.token}` },
    });
    await expectRefusal(res, 401, "unauthorized");
  });

  it("refuses a revoked runner's unit token with 401, storing nothing", async () => {
    await revokeRunner(testDeps().deps, ctx.runner.id);
    await expectNothingStored(async () => {
      const put = await rawCall("PUT", `/internal/units/${ctx.unitId}/files/manifest.mpd`, {
        headers: { authorization: `Bearer ${ctx.token}` },
        body: "<MPD/>",
      });
      await expectRefusal(put, 401, "unauthorized");
    });
  });
});

describe("runner tokens of every wrong shape on claims", () => {
  let ctx: Awaited<ReturnType<typeof runningUnit>>;
  beforeAll(async () => {
    ctx = await runningUnit();
  });

  const shapes: [string, () => string | null][] = [
    ["no Authorization header", () => null],
    ["Bearer without a token", () => "Bearer"],
    ["the right token under the Token scheme", () => `Token ${ctx.runnerToken}`],
    ["an unknown well-formed token", () => `Bearer sbr_${"0".repeat(64)}`],
    [
      "the token with a character changed",
      () => `Bearer ${ctx.runnerToken.slice(0, -1)}${ctx.runnerToken.endsWith("a") ? "b" : "a"}`,
    ],
    ["a unit token", () => `Bearer ${ctx.token}`],
    ["a user's API key", () => `Bearer ${owner.key}`],
    ["characters outside the token alphabet", () => `Bearer ${ctx.runnerToken}%`],
    ["a 2,000-character token", () => `Bearer ${"A".repeat(2000)}`],
  ];

  it.each(shapes)("refuses %s with 401, claiming nothing", async (_, header) => {
    const authorization = header();
    const headers: Record<string, string> = authorization === null ? {} : { authorization };
    await expectNothingStored(async () => {
      const res = await rawCall("POST", "/internal/runners/claim", {
        headers: { ...headers, "content-type": "application/json" },
        body: JSON.stringify({ wait_seconds: 0 }),
      });
      await expectRefusal(res, 401, "unauthorized");
    });
  });

  it("refuses a malformed claim body with 400 in the envelope", async () => {
    const res = await rawCall("POST", "/internal/runners/claim", {
      headers: { authorization: `Bearer ${ctx.runnerToken}`, "content-type": "application/json" },
      body: "{not json",
    });
    await expectRefusal(res, 400, "invalid_json");
  });
});

describe("after every hostile request", () => {
  it("is healthy: /healthz answers and a key issued before still works", async () => {
    await expectHealthy(`Token ${owner.key}`);
  });
});
