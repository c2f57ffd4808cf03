import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { hashKey } from "../../auth/keys";
import { apiClient, type Envelope, type KeyWithUser, signedInUser, type UserJson } from "../../testing/api";

describe("accounts, the old service's way", () => {
  it("register → login → user → logout → the key no longer works", async () => {
    const client = apiClient();
    const registered = await client.call("POST", "/api/auth/registration/", {
      body: { username: "Grace", email: "Grace@Example.COM", password1: "ship it 1952", password2: "ship it 1952" },
    });
    expect(registered.status).toBe(201);
    const signUp = (await registered.json()) as KeyWithUser;
    expect(signUp.key).toMatch(/^[0-9a-f]{64}$/);
    expect(signUp.user).toEqual({
      pk: signUp.user.id,
      id: expect.any(String),
      username: "Grace",
      email: "Grace@example.com",
      first_name: "",
      last_name: "",
      date_joined: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });

    const loggedIn = await client.call("POST", "/api/auth/login/", {
      body: { username: "grace", password: "ship it 1952" },
    });
    expect(loggedIn.status).toBe(200);
    const login = (await loggedIn.json()) as KeyWithUser;
    expect(login.key).toMatch(/^[0-9a-f]{64}$/);
    expect(login.key).not.toBe(signUp.key);
    expect(login.user).toEqual(signUp.user);

    const me = await client.call("GET", "/api/auth/user/", { key: login.key });
    expect(me.status).toBe(200);
    expect(await me.json()).toEqual(signUp.user);

    const loggedOut = await client.call("POST", "/api/auth/logout/", { key: login.key });
    expect(loggedOut.status).toBe(200);
    expect(await loggedOut.json()).toEqual({ detail: "Successfully logged out." });

    const after = await client.call("GET", "/api/auth/user/", { key: login.key });
    expect(after.status).toBe(401);
    expect(((await after.json()) as Envelope).error.code).toBe("unauthorized");

    // Logging out revokes only the presented key.
    expect((await client.call("GET", "/api/auth/user/", { key: signUp.key })).status).toBe(200);
  });

  it("logs in by email in any case, in the email field or the username field", async () => {
    const { user, password, client } = await signedInUser({ email: "Linus@Example.org" });
    for (const body of [
      { email: "linus@example.org", password },
      { email: "LINUS@EXAMPLE.ORG", password },
      { username: "Linus@example.org", password },
      { username: "", email: "linus@example.org", password },
    ]) {
      const res = await client.call("POST", "/api/auth/login/", { body });
      expect(res.status, JSON.stringify(body)).toBe(200);
      expect(((await res.json()) as KeyWithUser).user.id).toBe(user.id);
    }
  });

  it("accepts the key in the Bearer scheme too, and paths without the trailing slash", async () => {
    const { key, user, client } = await signedInUser();
    const bearer = await client.call("GET", "/api/auth/user", { key, scheme: "Bearer" });
    expect(bearer.status).toBe(200);
    expect(((await bearer.json()) as UserJson).id).toBe(user.id);
    const lower = await client.call("GET", "/api/auth/user/", { key, scheme: "token" });
    expect(lower.status).toBe(200);
  });

  it("updates the user with PATCH (and PUT) and ignores read-only fields", async () => {
    const { key, user, password, client } = await signedInUser();
    const patched = await client.call("PATCH", "/api/auth/user/", {
      key,
      body: { first_name: "Ada", last_name: "Lovelace", id: "hijack", date_joined: "1815-12-10T00:00:00Z" },
    });
    expect(patched.status).toBe(200);
    expect(await patched.json()).toEqual({ ...user, first_name: "Ada", last_name: "Lovelace" });

    const newName = `${user.username}_renamed`;
    const renamed = await client.call("PUT", "/api/auth/user/", {
      key,
      body: { username: newName, email: `${newName}@Example.NET` },
    });
    expect(renamed.status).toBe(200);
    expect(await renamed.json()).toMatchObject({ id: user.id, username: newName, email: `${newName}@example.net` });

    // Changing only the case of one's own name is not a clash with oneself.
    const recased = await client.call("PATCH", "/api/auth/user/", { key, body: { username: newName.toUpperCase() } });
    expect(recased.status).toBe(200);

    const login = await client.call("POST", "/api/auth/login/", { body: { username: newName, password } });
    expect(login.status).toBe(200);
    const fresh = await client.call("GET", "/api/auth/user/", { key });
    expect(await fresh.json()).toMatchObject({ username: newName.toUpperCase(), first_name: "Ada" });
  });

  it("changes the password: other keys are revoked, the current key keeps working", async () => {
    const { key: firstKey, password, client, user } = await signedInUser();
    const second = (await (
      await client.call("POST", "/api/auth/login/", { body: { username: user.username, password } })
    ).json()) as KeyWithUser;

    const changed = await client.call("POST", "/api/auth/password/change/", {
      key: second.key,
      body: { old_password: password, new_password1: "a much better one", new_password2: "a much better one" },
    });
    expect(changed.status).toBe(200);
    expect(await changed.json()).toEqual({ detail: "New password has been saved." });

    expect((await client.call("GET", "/api/auth/user/", { key: second.key })).status).toBe(200);
    expect((await client.call("GET", "/api/auth/user/", { key: firstKey })).status).toBe(401);

    const oldLogin = await client.call("POST", "/api/auth/login/", { body: { username: user.username, password } });
    expect(oldLogin.status).toBe(400);
    const newLogin = await client.call("POST", "/api/auth/login/", {
      body: { username: user.username, password: "a much better one" },
    });
    expect(newLogin.status).toBe(200);
  });

  it("records when a key was last used, at most about once a minute per key", async () => {
    const { user, password, client } = await signedInUser();
    const login = async () =>
      (
        (await (
          await client.call("POST", "/api/auth/login/", { body: { username: user.username, password } })
        ).json()) as KeyWithUser
      ).key;
    const recentKey = await login();
    const staleKey = await login();
    const lastUsed = async (key: string) =>
      (
        await env.DB.prepare("SELECT last_used_at FROM auth_keys WHERE key_hash = ?")
          .bind(await hashKey(key))
          .first<{ last_used_at: number | null }>()
      )?.last_used_at;
    const setLastUsed = async (key: string, at: number) =>
      env.DB.prepare("UPDATE auth_keys SET last_used_at = ? WHERE key_hash = ?")
        .bind(at, await hashKey(key))
        .run();
    const now = Date.now();
    await setLastUsed(recentKey, now - 30_000);
    await setLastUsed(staleKey, now - 120_000);

    expect((await client.call("GET", "/api/auth/user/", { key: recentKey })).status).toBe(200);
    expect((await client.call("GET", "/api/auth/user/", { key: staleKey })).status).toBe(200);

    await vi.waitFor(async () => expect(await lastUsed(staleKey)).toBeGreaterThanOrEqual(now));
    expect(await lastUsed(recentKey)).toBe(now - 30_000);
  });
});
