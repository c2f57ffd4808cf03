import { createRoute, z } from "@hono/zod-openapi";
import { openApiErrorResponses } from "../../app/errors";
import { API_KEY_SECURITY } from "../../app/openapi";
import { MAX_PASSWORD_LENGTH } from "../../auth/passwords";
import { requireUser } from "../../middleware/auth";

const tags = ["Accounts"];

export const UserSchema = z
  .object({
    pk: z.string().openapi({ description: "Same as `id`; kept for clients of the old service." }),
    id: z.string().openapi({ example: "0b8f3c4e-7d1a-4a57-9f0e-2d6c1b3a5e79" }),
    username: z.string().openapi({ example: "ada" }),
    email: z.string().openapi({ example: "ada@example.com" }),
    first_name: z.string(),
    last_name: z.string(),
    date_joined: z.string().openapi({ format: "date-time" }),
  })
  .openapi("User");

export const KeySchema = z
  .object({
    key: z.string().openapi({
      description: "The API key: send it as `Authorization: Token <key>`. It is shown only once.",
      example: "5f1c0c5e0c1d4e5b9a8f7e6d5c4b3a291817161514131211100f0e0d0c0b0a09",
    }),
    user: UserSchema,
  })
  .openapi("KeyWithUser");

const DetailSchema = z.object({ detail: z.string() }).openapi("Detail");

const USERNAME_PATTERN = /^[\p{L}\p{N}_.@+-]+$/u;
const username = z
  .string()
  .trim()
  .min(1, "This field may not be blank.")
  .max(150, "Ensure this field has no more than 150 characters.")
  .regex(
    USERNAME_PATTERN,
    "Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters.",
  )
  .openapi({ example: "ada" });
const email = z
  .email("Enter a valid email address.")
  .max(254, "Ensure this field has no more than 254 characters.")
  .openapi({ example: "ada@example.com" });
const name = z.string().trim().max(150, "Ensure this field has no more than 150 characters.");
const password = z.string().min(1, "This field may not be blank.").max(MAX_PASSWORD_LENGTH);

const json = <T extends z.ZodType>(schema: T, description: string) => ({
  content: { "application/json": { schema } },
  description,
});
const body = <T extends z.ZodType>(schema: T) => ({
  required: true,
  content: { "application/json": { schema } },
});

export const register = createRoute({
  method: "post",
  path: "/api/auth/registration",
  tags,
  summary: "Sign up",
  description:
    "Creates an account and returns its first API key. Usernames and emails are unique regardless of case; " +
    "the password needs at least 8 characters, not only digits, and must differ from the username.",
  request: {
    body: body(
      z.object({ username, email, password1: password, password2: password }).openapi("Registration", {
        example: { username: "ada", email: "ada@example.com", password1: "correct horse", password2: "correct horse" },
      }),
    ),
  },
  responses: {
    201: json(KeySchema, "The account and its key"),
    ...openApiErrorResponses,
  },
});

export const login = createRoute({
  method: "post",
  path: "/api/auth/login",
  tags,
  summary: "Log in",
  description:
    "Exchanges a username (or email) and password for a new API key. Wrong passwords and unknown users get " +
    "the same answer.",
  request: {
    body: body(
      z
        .object({
          username: z.string().max(254).optional(),
          email: z.string().max(254).optional(),
          password,
        })
        .refine((v) => Boolean(v.username?.trim() || v.email?.trim()), {
          message: 'Must include "username" or "email".',
          path: ["username"],
        })
        .openapi("Login", { example: { username: "ada", password: "correct horse" } }),
    ),
  },
  responses: {
    200: json(KeySchema, "A new key for the user"),
    ...openApiErrorResponses,
  },
});

export const logout = createRoute({
  method: "post",
  path: "/api/auth/logout",
  tags,
  summary: "Log out",
  description: "Revokes the key this request presents; the user's other keys keep working.",
  security: API_KEY_SECURITY,
  middleware: [requireUser()] as const,
  responses: {
    200: json(DetailSchema, "The key no longer works"),
    ...openApiErrorResponses,
  },
});

export const getUser = createRoute({
  method: "get",
  path: "/api/auth/user",
  tags,
  summary: "The current user",
  security: API_KEY_SECURITY,
  middleware: [requireUser()] as const,
  responses: {
    200: json(UserSchema, "The user the key belongs to"),
    ...openApiErrorResponses,
  },
});

const UserUpdateSchema = z
  .object({
    username: username.optional(),
    email: email.optional(),
    first_name: name.optional(),
    last_name: name.optional(),
  })
  .openapi("UserUpdate", { example: { first_name: "Ada", last_name: "Lovelace" } });

const userUpdate = (method: "patch" | "put") =>
  createRoute({
    method,
    path: "/api/auth/user",
    tags,
    summary: method === "patch" ? "Update the current user" : "Update the current user (as PATCH)",
    description:
      "Changes any of `username`, `email`, `first_name`, `last_name`; the same uniqueness rules as at sign-up " +
      "apply. Other fields are read-only and ignored.",
    security: API_KEY_SECURITY,
    middleware: [requireUser()] as const,
    request: { body: body(UserUpdateSchema) },
    responses: {
      200: json(UserSchema, "The updated user"),
      ...openApiErrorResponses,
    },
  });

export const patchUser = userUpdate("patch");
export const putUser = userUpdate("put");

export const changePassword = createRoute({
  method: "post",
  path: "/api/auth/password/change",
  tags,
  summary: "Change the password",
  description: "Sets a new password; every other key of the user is revoked, the key of this request keeps working.",
  security: API_KEY_SECURITY,
  middleware: [requireUser()] as const,
  request: {
    body: body(
      z.object({ old_password: password, new_password1: password, new_password2: password }).openapi("PasswordChange"),
    ),
  },
  responses: {
    200: json(DetailSchema, "The new password is saved"),
    ...openApiErrorResponses,
  },
});

export type RegisterRoute = typeof register;
export type LoginRoute = typeof login;
export type LogoutRoute = typeof logout;
export type GetUserRoute = typeof getUser;
export type PatchUserRoute = typeof patchUser;
export type ChangePasswordRoute = typeof changePassword;
