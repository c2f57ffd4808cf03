/**
 * The API from the browser: the signed-in session (API key and user, kept in localStorage and
 * sent only in the Authorization header) and one fetch wrapper that turns the API's error
 * envelope into an ApiError.
 */

const SESSION_KEY = "streambuddy.session";

/** @returns {{ key: string, user: { id: string, username: string, email: string } } | null} */
export function getSession() {
  try {
    const session = JSON.parse(localStorage.getItem(SESSION_KEY) ?? "null");
    return session?.key ? session : null;
  } catch {
    return null;
  }
}

export function setSession(session) {
  localStorage.setItem(SESSION_KEY, JSON.stringify({ key: session.key, user: session.user }));
  window.dispatchEvent(new Event("session-change"));
}

export function clearSession() {
  localStorage.removeItem(SESSION_KEY);
  window.dispatchEvent(new Event("session-change"));
}

export function authHeaders() {
  const session = getSession();
  return session ? { Authorization: `Token ${session.key}` } : {};
}

export class ApiError extends Error {
  constructor(status, error, retryAfter) {
    super(error?.message || (status === 0 ? "The server cannot be reached" : `Request failed (${status})`));
    this.status = status;
    this.code = error?.code ?? "error";
    /** @type {{ path?: string, message: string }[]} */
    this.details = Array.isArray(error?.details) ? error.details : [];
    this.retryAfter = retryAfter ? Number(retryAfter) : null;
  }
}

/**
 * Calls the API. A stored key the server no longer accepts (401) is forgotten, and the call is
 * tried once more without it, so public pages keep working after a key was revoked elsewhere.
 * `body` is sent as JSON; `file` (a Blob) is sent as it is, with `contentType`.
 */
export async function api(path, { method = "GET", body, file, contentType, signal } = {}) {
  const send = () => {
    const headers = { Accept: "application/json", ...authHeaders() };
    if (file !== undefined) headers["Content-Type"] = contentType || file.type || "application/octet-stream";
    else if (body !== undefined) headers["Content-Type"] = "application/json";
    const payload = file ?? (body === undefined ? undefined : JSON.stringify(body));
    return fetch(path, { method, headers, body: payload, signal });
  };
  let res;
  try {
    res = await send();
    if (res.status === 401 && getSession()) {
      clearSession();
      res = await send();
    }
  } catch (err) {
    if (err?.name === "AbortError") throw err;
    throw new ApiError(0, null);
  }
  if (res.status === 204) return null;
  const data = await res.json().catch(() => null);
  if (!res.ok) throw new ApiError(res.status, data?.error, res.headers.get("Retry-After"));
  return data;
}

/** The session, or a trip to the login page that comes back here afterwards. */
export function requireSession() {
  const session = getSession();
  if (!session) {
    const next = location.pathname + location.search;
    location.replace(`/login?next=${encodeURIComponent(next)}`);
  }
  return session;
}

/** A friendly sentence for an error, including when to retry after a rate limit. */
export function describeError(err) {
  if (err instanceof ApiError && err.status === 429 && err.retryAfter) {
    const minutes = Math.ceil(err.retryAfter / 60);
    return `${err.message} Try again in ${minutes > 1 ? `${minutes} minutes` : "a minute"}.`;
  }
  return err?.message ?? String(err);
}
