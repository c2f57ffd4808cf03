import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { hashKey } from "../../auth/keys";
import { hashPassword, PBKDF2_ITERATIONS, UNKNOWN_USER_HASH, verifyPassword } from "../../auth/passwords";
import { apiClient, callApp, type Envelope, signedInUser } from "../../testing/api";

const fromBase64 = (b64: string) => Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));

const storedHash = async (userId: string) =>
  (await env.DB.prepare("SELECT password_hash FROM users WHERE id = ?").bind(userId).first<{ password_hash: string }>())
    ?.password_hash ?? "";

describe("password storage", () => {
  it("uses PBKDF2-SHA256 at exactly 100,000 iterations (the production cap) with a 16-byte salt", async () => {
    expect(PBKDF2_ITERATIONS).toBe(100_000);
    const { user, password } = await signedInUser();
    const stored = await storedHash(user.id);
    const [algorithm, iterations, salt, hash] = stored.split("$");
    expect(algorithm).toBe("pbkdf2_sha256");
    expect(iterations).toBe("100000");
    expect(fromBase64(salt ?? "")).toHaveLength(16);

    // Recomputing with WebCrypto from the stored parameters gives the stored hash.
    const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(password), "PBKDF2", false, [
      "deriveBits",
    ]);
    const bits = await crypto.subtle.deriveBits(
      { name: "PBKDF2", hash: "SHA-256", salt: fromBase64(salt ?? ""), iterations: 100_000 },
      key,
      256,
    );
    expect(new Uint8Array(bits)).toEqual(fromBase64(hash ?? ""));
    expect(stored).not.toContain(password);
  });

  it("salts every hash: the same password hashes differently", async () => {
    const a = await hashPassword("same password");
    const b = await hashPassword("same password");
    expect(a).not.toBe(b);
    expect(await verifyPassword("same password", a)).toBe(true);
    expect(await verifyPassword("same password", b)).toBe(true);
    expect(await verifyPassword("Same password", a)).toBe(false);
  });

  it("never accepts the stand-in hash used for unknown users, nor a hash above the cap", async () => {
    expect(await verifyPassword("", UNKNOWN_USER_HASH)).toBe(false);
    expect(await verifyPassword("anything", UNKNOWN_USER_HASH)).toBe(false);
    const aboveCap = await hashPassword("pw above cap", 100_001);
    expect(await verifyPassword("pw above cap", aboveCap)).toBe(false);
    expect(await verifyPassword("x", "md5$abc")).toBe(false);
  });
});

describe("API keys", () => {
  it("are stored only as their SHA-256", async () => {
    const { key, user } = await signedInUser();
    const rows = await env.DB.prepare("SELECT * FROM auth_keys WHERE user_id = ?").bind(user.id).all();
    expect(rows.results).toHaveLength(1);
    const row = rows.results[0] as Record<string, unknown>;
    expect(row.key_hash).toBe(await hashKey(key));
    expect(JSON.stringify(row)).not.toContain(key);
  });

  it("answer 401 in the envelope when malformed, unknown, or in another scheme", async () => {
    const client = apiClient();
    const unknown = "0".repeat(64);
    for (const authorization of [
      `Token ${unknown}`,
      `Bearer ${unknown}`,
      "Token",
      "Token ",
      "Token not-a-key",
      `Token ${"a".repeat(63)}`,
      `Token ${"A".repeat(64)}`,
      `Token ${unknown} extra`,
      "Basic dXNlcjpwYXNz",
    ]) {
      const res = await client.call("GET", "/api/auth/user/", { headers: { Authorization: authorization } });
      expect(res.status, authorization).toBe(401);
      expect(res.headers.get("www-authenticate")).toContain("Token");
      const body = (await res.json()) as Envelope;
      expect(body.error.code).toBe("unauthorized");
      expect(body.error.requestId).toBe(res.headers.get("x-request-id"));
    }
  });

  it("refuse an invalid key even on routes open to anonymous callers", async () => {
    const res = await apiClient().call("POST", "/api/auth/login/", {
      key: "f".repeat(64),
      body: { username: "x", password: "y" },
    });
    expect(res.status).toBe(401);
  });

  it("answer 401 without a key on authenticated routes", async () => {
    const client = apiClient();
    for (const [method, path] of [
      ["GET", "/api/auth/user/"],
      ["PATCH", "/api/auth/user/"],
      ["POST", "/api/auth/logout/"],
    ] as const) {
      const res = await client.call(method, path, method === "PATCH" ? { body: { first_name: "x" } } : {});
      expect(res.status, `${method} ${path}`).toBe(401);
    }
  });

  it("stop working once expired", async () => {
    const { key, client } = await signedInUser();
    expect((await client.call("GET", "/api/auth/user/", { key })).status).toBe(200);
    await env.DB.prepare("UPDATE auth_keys SET expires_at = ? WHERE key_hash = ?")
      .bind(Date.now() - 1000, await hashKey(key))
      .run();
    const res = await client.call("GET", "/api/auth/user/", { key });
    expect(res.status).toBe(401);
    expect(((await res.json()) as Envelope).error.message).toContain("expired");
  });

  it("do not leak into user JSON: no password hash, no admin flag", async () => {
    const { key, client } = await signedInUser();
    const me = (await (await client.call("GET", "/api/auth/user/", { key })).json()) as Record<string, unknown>;
    expect(Object.keys(me).sort()).toEqual(["date_joined", "email", "first_name", "id", "last_name", "pk", "username"]);
  });
});

describe("the API description", () => {
  it("declares both key schemes and requires one on authenticated routes only", async () => {
    const res = await callApp("/openapi.json");
    const doc = (await res.json()) as {
      components: { securitySchemes: Record<string, { type: string; scheme?: string; name?: string }> };
      paths: Record<string, Record<string, { security?: unknown }>>;
    };
    expect(doc.components.securitySchemes.Token).toMatchObject({ type: "apiKey", name: "Authorization" });
    expect(doc.components.securitySchemes.Bearer).toMatchObject({ type: "http", scheme: "bearer" });
    const security = [{ Token: [] }, { Bearer: [] }];
    expect(doc.paths["/api/auth/user"]?.get?.security).toEqual(security);
    expect(doc.paths["/api/auth/user"]?.patch?.security).toEqual(security);
    expect(doc.paths["/api/auth/logout"]?.post?.security).toEqual(security);
    expect(doc.paths["/api/auth/password/change"]?.post?.security).toEqual(security);
    expect(doc.paths["/api/auth/login"]?.post?.security).toBeUndefined();
    expect(doc.paths["/api/auth/registration"]?.post?.security).toBeUndefined();
  });
});
