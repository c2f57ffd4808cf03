import { describe, expect, it } from "vitest";
import { apiClient, type Envelope, signedInUser } from "../../testing/api";

interface FieldDetail {
  path: string;
  message: string;
  code: string;
}

const fieldErrors = async (res: Response) => {
  expect(res.status).toBe(400);
  const body = (await res.json()) as Envelope;
  expect(body.error.code).toBe("validation_error");
  return body.error.details as FieldDetail[];
};

const signUp = (body: Record<string, unknown>) =>
  apiClient().call("POST", "/api/auth/registration/", {
    body: { password1: "long enough pw", password2: "long enough pw", ...body },
  });

describe("registration refuses", () => {
  it("a username or email already taken, in any case, naming the fields", async () => {
    await signedInUser({ username: "Marie", email: "marie@example.com" });

    const sameName = await fieldErrors(await signUp({ username: "mARIE", email: "other@example.com" }));
    expect(sameName).toEqual([
      { path: "username", message: "A user with that username already exists.", code: "unique" },
    ]);

    const sameEmail = await fieldErrors(await signUp({ username: "Pierre", email: "MARIE@EXAMPLE.COM" }));
    expect(sameEmail).toEqual([
      { path: "email", message: "A user with that email address already exists.", code: "unique" },
    ]);

    const both = await fieldErrors(await signUp({ username: "marie", email: "Marie@Example.com" }));
    expect(both.map((d) => d.path)).toEqual(["username", "email"]);
  });

  it("passwords that are short, only digits, the username, or unconfirmed", async () => {
    const short = await fieldErrors(
      await signUp({ username: "shorty", email: "shorty@example.com", password1: "abc12", password2: "abc12" }),
    );
    expect(short).toEqual([
      {
        path: "password1",
        message: "This password is too short. It must contain at least 8 characters.",
        code: "password_rejected",
      },
    ]);

    const digits = await fieldErrors(
      await signUp({
        username: "digits",
        email: "digits@example.com",
        password1: "1234567890",
        password2: "1234567890",
      }),
    );
    expect(digits).toEqual([
      expect.objectContaining({ path: "password1", message: "This password is entirely numeric." }),
    ]);

    const sameAsName = await fieldErrors(
      await signUp({
        username: "Longusername",
        email: "lu@example.com",
        password1: "longUSERNAME",
        password2: "longUSERNAME",
      }),
    );
    expect(sameAsName).toEqual([
      expect.objectContaining({ path: "password1", message: "The password is too similar to the username." }),
    ]);

    const mismatch = await fieldErrors(
      await signUp({ username: "typo", email: "typo@example.com", password1: "first try!", password2: "first try?" }),
    );
    expect(mismatch).toEqual([
      expect.objectContaining({ path: "password2", message: "The two password fields didn't match." }),
    ]);

    const several = await fieldErrors(
      await signUp({ username: "several", email: "several@example.com", password1: "1234", password2: "1234" }),
    );
    expect(several.map((d) => d.message)).toEqual([
      "This password is too short. It must contain at least 8 characters.",
      "This password is entirely numeric.",
    ]);
  });

  it("malformed usernames and emails, and missing fields", async () => {
    const badName = await fieldErrors(await signUp({ username: "no spaces please", email: "a@example.com" }));
    expect(badName).toEqual([expect.objectContaining({ path: "username" })]);
    const badEmail = await fieldErrors(await signUp({ username: "fine", email: "not-an-email" }));
    expect(badEmail).toEqual([expect.objectContaining({ path: "email", message: "Enter a valid email address." })]);
    const missing = await fieldErrors(await apiClient().call("POST", "/api/auth/registration/", { body: {} }));
    expect(missing.map((d) => d.path).sort()).toEqual(["email", "password1", "password2", "username"]);
  });

  it("a body that is not JSON", async () => {
    const res = await apiClient().call("POST", "/api/auth/registration/", { rawBody: '{"username": ' });
    expect(res.status).toBe(400);
    expect(((await res.json()) as Envelope).error.code).toBe("invalid_json");
  });
});

describe("login refuses", () => {
  it("a wrong password and an unknown user with the same answer", async () => {
    const { user } = await signedInUser();
    const client = apiClient();
    const wrongPassword = await client.call("POST", "/api/auth/login/", {
      body: { username: user.username, password: "not the password" },
    });
    const unknownUser = await client.call("POST", "/api/auth/login/", {
      body: { username: "nobody-by-this-name", password: "not the password" },
    });
    const unknownEmail = await client.call("POST", "/api/auth/login/", {
      body: { email: "nobody@example.com", password: "not the password" },
    });
    const strip = async (res: Response) => {
      const body = (await res.json()) as Envelope;
      return { status: res.status, code: body.error.code, message: body.error.message, details: body.error.details };
    };
    const expected = await strip(wrongPassword);
    expect(expected).toEqual({
      status: 400,
      code: "bad_request",
      message: "Unable to log in with provided credentials.",
      details: [
        {
          path: "non_field_errors",
          message: "Unable to log in with provided credentials.",
          code: "invalid_credentials",
        },
      ],
    });
    expect(await strip(unknownUser)).toEqual(expected);
    expect(await strip(unknownEmail)).toEqual(expected);
  });

  it("a body without username or email", async () => {
    const details = await fieldErrors(
      await apiClient().call("POST", "/api/auth/login/", { body: { password: "whatever1" } }),
    );
    expect(details).toEqual([expect.objectContaining({ path: "username" })]);
  });
});

describe("user updates refuse", () => {
  it("a username or email of another user, in any case", async () => {
    const taken = await signedInUser({ username: "Taken_Name", email: "taken@example.com" });
    const { key, client } = await signedInUser();
    const name = await fieldErrors(
      await client.call("PATCH", "/api/auth/user/", { key, body: { username: "taken_name" } }),
    );
    expect(name).toEqual([expect.objectContaining({ path: "username", code: "unique" })]);
    const email = await fieldErrors(
      await client.call("PATCH", "/api/auth/user/", { key, body: { email: "TAKEN@example.com" } }),
    );
    expect(email).toEqual([expect.objectContaining({ path: "email", code: "unique" })]);
    const invalid = await fieldErrors(await client.call("PATCH", "/api/auth/user/", { key, body: { email: "nope" } }));
    expect(invalid).toEqual([expect.objectContaining({ path: "email" })]);
    // Nothing changed for either user.
    const me = await client.call("GET", "/api/auth/user/", { key });
    expect(await me.json()).not.toMatchObject({ username: "taken_name" });
    const them = await client.call("GET", "/api/auth/user/", { key: taken.key });
    expect(await them.json()).toMatchObject({ username: "Taken_Name", email: "taken@example.com" });
  });
});

describe("password change refuses", () => {
  it("a wrong old password and a new password that breaks the rules, keeping every key", async () => {
    const { key, password, client, user } = await signedInUser();
    const wrongOld = await fieldErrors(
      await client.call("POST", "/api/auth/password/change/", {
        key,
        body: { old_password: "not it at all", new_password1: "fine new pass", new_password2: "fine new pass" },
      }),
    );
    expect(wrongOld).toEqual([expect.objectContaining({ path: "old_password", code: "password_incorrect" })]);

    const weak = await fieldErrors(
      await client.call("POST", "/api/auth/password/change/", {
        key,
        body: { old_password: password, new_password1: user.username, new_password2: user.username.toUpperCase() },
      }),
    );
    expect(weak.map((d) => d.path)).toEqual(["new_password1", "new_password2"]);

    // The old password still logs in.
    const login = await client.call("POST", "/api/auth/login/", { body: { username: user.username, password } });
    expect(login.status).toBe(200);
  });

  it("a request without a key", async () => {
    const res = await apiClient().call("POST", "/api/auth/password/change/", {
      body: { old_password: "x", new_password1: "y", new_password2: "y" },
    });
    expect(res.status).toBe(401);
    expect(((await res.json()) as Envelope).error.code).toBe("unauthorized");
  });
});
