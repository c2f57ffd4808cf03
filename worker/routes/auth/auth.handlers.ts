import { ApiError } from "../../app/errors";
import type { AppRouteHandler } from "../../app/types";
import { currentUser } from "../../auth/authenticate";
import { issueKey, newKeyRow, revokeKey } from "../../auth/keys";
import { hashPassword, passwordProblems, UNKNOWN_USER_HASH, verifyPassword } from "../../auth/passwords";
import {
  changePassword as changePasswordData,
  createUserWithKey,
  findTaken,
  findUserById,
  findUserForLogin,
  isUniqueViolation,
  normalizeEmail,
  normalizeUsername,
  toUserJson,
  updateUser,
} from "../../auth/users.data";
import type {
  ChangePasswordRoute,
  GetUserRoute,
  LoginRoute,
  LogoutRoute,
  PatchUserRoute,
  RegisterRoute,
} from "./auth.routes";

interface FieldProblem {
  path: string;
  message: string;
  code: string;
}

/** A 400 shaped like the validation errors of every other route: one entry per field problem. */
function fieldError(problems: FieldProblem[]): ApiError {
  const fields = [...new Set(problems.map((p) => p.path))].join(", ");
  return new ApiError("validation_error", `Invalid request: ${fields}`, { details: problems });
}

const TAKEN = {
  username: "A user with that username already exists.",
  email: "A user with that email address already exists.",
};

function takenProblems(taken: { username: boolean; email: boolean }): FieldProblem[] {
  const problems: FieldProblem[] = [];
  if (taken.username) problems.push({ path: "username", message: TAKEN.username, code: "unique" });
  if (taken.email) problems.push({ path: "email", message: TAKEN.email, code: "unique" });
  return problems;
}

function newPasswordProblems(path: string, password: string, confirmation: string, username: string) {
  const problems: FieldProblem[] = passwordProblems(password, username).map((message) => ({
    path,
    message,
    code: "password_rejected",
  }));
  if (password !== confirmation) {
    problems.push({
      path: path.replace(/1$/, "2"),
      message: "The two password fields didn't match.",
      code: "password_mismatch",
    });
  }
  return problems;
}

export const register: AppRouteHandler<RegisterRoute> = async (c) => {
  const input = c.req.valid("json");
  const db = c.get("db");
  const username = normalizeUsername(input.username);
  const email = normalizeEmail(input.email);
  const problems = [
    ...newPasswordProblems("password1", input.password1, input.password2, username),
    ...takenProblems(await findTaken(db, { username, email })),
  ];
  if (problems.length > 0) throw fieldError(problems);

  const now = new Date();
  const user = {
    id: crypto.randomUUID(),
    username,
    email,
    passwordHash: await hashPassword(input.password1),
    firstName: "",
    lastName: "",
    isAdmin: false,
    webhookUrl: null,
    createdAt: now,
    updatedAt: now,
  };
  const { key, row } = await newKeyRow(user.id, { ttlDays: c.get("settings").authKeyTtlDays, now: now.getTime() });
  try {
    await createUserWithKey(db, user, row);
  } catch (err) {
    // Two sign-ups raced for the same name: the unique indexes decided, answer as if checked first.
    if (!isUniqueViolation(err)) throw err;
    throw fieldError(takenProblems(await findTaken(db, { username, email })));
  }
  c.get("logger").info("user registered", { userId: user.id });
  return c.json({ key, user: toUserJson(user) }, 201);
};

const LOGIN_FAILED = "Unable to log in with provided credentials.";

export const login: AppRouteHandler<LoginRoute> = async (c) => {
  const input = c.req.valid("json");
  const db = c.get("db");
  const user = await findUserForLogin(db, { username: input.username?.trim(), email: input.email?.trim() });
  // The PBKDF2 work is done even without a user, so the answer time does not tell who exists.
  const valid = await verifyPassword(input.password, user?.passwordHash ?? UNKNOWN_USER_HASH);
  if (!user || !valid) {
    throw new ApiError("bad_request", LOGIN_FAILED, {
      details: [{ path: "non_field_errors", message: LOGIN_FAILED, code: "invalid_credentials" }],
    });
  }
  const key = await issueKey(db, user.id, { ttlDays: c.get("settings").authKeyTtlDays });
  const { passwordHash: _hash, ...publicUser } = user;
  return c.json({ key, user: toUserJson(publicUser) }, 200);
};

export const logout: AppRouteHandler<LogoutRoute> = async (c) => {
  const keyId = c.get("authKeyId");
  if (keyId) await revokeKey(c.get("db"), keyId);
  return c.json({ detail: "Successfully logged out." }, 200);
};

export const getUser: AppRouteHandler<GetUserRoute> = (c) => c.json(toUserJson(currentUser(c)), 200);

export const patchUser: AppRouteHandler<PatchUserRoute> = async (c) => {
  const me = currentUser(c);
  const input = c.req.valid("json");
  const db = c.get("db");
  const username = input.username === undefined ? undefined : normalizeUsername(input.username);
  const email = input.email === undefined ? undefined : normalizeEmail(input.email);
  const problems = takenProblems(await findTaken(db, { username, email }, me.id));
  if (problems.length > 0) throw fieldError(problems);
  const changes = {
    ...(username === undefined ? {} : { username }),
    ...(email === undefined ? {} : { email }),
    ...(input.first_name === undefined ? {} : { firstName: input.first_name }),
    ...(input.last_name === undefined ? {} : { lastName: input.last_name }),
  };
  if (Object.keys(changes).length === 0) return c.json(toUserJson(me), 200);
  let updated: Awaited<ReturnType<typeof updateUser>>;
  try {
    updated = await updateUser(db, me.id, changes);
  } catch (err) {
    if (!isUniqueViolation(err)) throw err;
    throw fieldError(takenProblems(await findTaken(db, { username, email }, me.id)));
  }
  if (!updated) throw new ApiError("not_found", "The user no longer exists");
  const { passwordHash: _hash, ...publicUser } = updated;
  return c.json(toUserJson(publicUser), 200);
};

export const changePassword: AppRouteHandler<ChangePasswordRoute> = async (c) => {
  const me = currentUser(c);
  const input = c.req.valid("json");
  const db = c.get("db");
  const stored = await findUserById(db, me.id);
  if (!stored) throw new ApiError("not_found", "The user no longer exists");
  const problems: FieldProblem[] = [];
  if (!(await verifyPassword(input.old_password, stored.passwordHash))) {
    problems.push({
      path: "old_password",
      message: "Your old password was entered incorrectly. Please enter it again.",
      code: "password_incorrect",
    });
  }
  problems.push(...newPasswordProblems("new_password1", input.new_password1, input.new_password2, stored.username));
  if (problems.length > 0) throw fieldError(problems);
  const keyId = c.get("authKeyId");
  if (!keyId) throw new ApiError("unauthorized", "Authentication credentials were not provided");
  await changePasswordData(db, me.id, await hashPassword(input.new_password1), keyId);
  return c.json({ detail: "New password has been saved." }, 200);
};
