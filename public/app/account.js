/** Log in and sign up: the key the API returns is kept in localStorage, then back to where we came from. */
import { ApiError, api, describeError, setSession } from "./api.js";

/** Only paths on this site, so a crafted link cannot send a freshly signed-in user elsewhere. */
function nextPath() {
  const next = new URLSearchParams(location.search).get("next") ?? "";
  return next.startsWith("/") && !next.startsWith("//") ? next : null;
}

function showErrors(form, err) {
  const formError = form.querySelector("#form-error");
  const unplaced = [];
  for (const detail of err instanceof ApiError ? err.details : []) {
    const field = form.querySelector(`#${CSS.escape(detail.path ?? "")}-error`);
    if (field) {
      field.textContent = field.textContent ? `${field.textContent} ${detail.message}` : detail.message;
      form.querySelector(`#${CSS.escape(detail.path)}`)?.setAttribute("aria-invalid", "true");
    } else {
      unplaced.push(detail.message);
    }
  }
  const placed = err instanceof ApiError && err.details.length > unplaced.length;
  formError.textContent = unplaced.length ? unplaced.join(" ") : placed ? "" : describeError(err);
  (form.querySelector('[aria-invalid="true"]') ?? formError).focus?.();
}

function clearErrors(form) {
  for (const el of form.querySelectorAll(".field-error, #form-error")) el.textContent = "";
  for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
}

function handle(form, path, toBody, fallbackNext) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const button = form.querySelector('button[type="submit"]');
    button.disabled = true;
    try {
      const result = await api(path, { method: "POST", body: toBody(new FormData(form)) });
      setSession(result);
      location.assign(nextPath() ?? fallbackNext);
    } catch (err) {
      showErrors(form, err);
      button.disabled = false;
    }
  });
}

const login = document.querySelector("#login-form");
if (login) {
  handle(
    login,
    "/api/auth/login/",
    // The server also looks a username containing "@" up as an email.
    (data) => ({ username: String(data.get("username")).trim(), password: String(data.get("password")) }),
    "/mine",
  );
}

const signup = document.querySelector("#signup-form");
if (signup) {
  handle(
    signup,
    "/api/auth/registration/",
    (data) => ({
      username: String(data.get("username")).trim(),
      email: String(data.get("email")).trim(),
      password1: String(data.get("password1")),
      password2: String(data.get("password2")),
    }),
    "/upload",
  );
}

// Carry ?next= over when switching between the two forms.
const next = nextPath();
if (next) {
  for (const link of document.querySelectorAll("a[data-keep-next]")) {
    link.href = `${link.pathname}?next=${encodeURIComponent(next)}`;
  }
}
