import type { Context, MiddlewareHandler, Next } from "hono";
import { matchedRoutes } from "hono/route";
import { COMPOSED_HANDLER } from "hono/utils/constants";
import type { RateLimitDecision, RateLimitPolicy, RateLimitPolicyState } from "../durable/rate-limiter";
import { authenticate } from "./auth";
import { ApiError } from "./errors";
import type { Settings } from "./settings";
import type { AppEnv } from "./types";

/**
 * `anonymous` and `user` are the general limits of every API call (by client IP, by user);
 * `upload` and `stream` are added by the routes that upload or play.
 */
export type RateLimitPolicyName = "anonymous" | "user" | "upload" | "stream";

const DAY = 86_400;
const HOUR = 3_600;

export function policyFor(name: RateLimitPolicyName, settings: Settings): RateLimitPolicy {
  const limits = settings.rateLimits;
  switch (name) {
    case "anonymous":
      return { name, limit: limits.anonymousPerDay, windowSeconds: DAY };
    case "user":
      return { name, limit: limits.userPerDay, windowSeconds: DAY };
    case "upload":
      return { name, limit: limits.uploadsPerDay, windowSeconds: DAY };
    case "stream":
      return { name, limit: limits.streamingPerHour, windowSeconds: HOUR };
  }
}

/** Requests without `CF-Connecting-IP` (local tools and tests) share this subject. */
export const UNKNOWN_CLIENT = "ip:unknown";

/**
 * The subject of an anonymous client. An IPv6 client usually holds a whole /64, so the /64 is
 * the subject; an IPv4-mapped address counts as the IPv4 address.
 */
export function clientSubject(ip: string | undefined): string {
  const value = ip?.trim().toLowerCase();
  if (!value) return UNKNOWN_CLIENT;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(value);
  if (mapped) return `ip:${mapped[1]}`;
  if (!value.includes(":")) return `ip:${value}`;
  const [head = "", tail = ""] = value.split("::", 2);
  const headParts = head ? head.split(":") : [];
  const tailParts = value.includes("::") && tail ? tail.split(":") : [];
  const missing = Math.max(0, 8 - headParts.length - tailParts.length);
  const groups = value.includes("::") ? [...headParts, ...Array(missing).fill("0"), ...tailParts] : headParts;
  const prefix = groups.slice(0, 4).map((g) => (g.replace(/^0+/, "") || "0").slice(0, 4));
  return `ip:${prefix.join(":")}::/64`;
}

/** Whose counters a request uses: the user's when a valid key is presented, else the client IP's. */
export async function rateLimitSubject(c: Context<AppEnv>): Promise<string> {
  const user = await authenticate(c);
  return user ? `user:${user.id}` : clientSubject(c.req.header("cf-connecting-ip"));
}

/** The policy a client should see in the headers: the refusing one, else the one closest to its limit. */
function shownPolicy(decision: RateLimitDecision): RateLimitPolicyState | undefined {
  const candidates = decision.allowed ? decision.policies : decision.policies.filter((p) => p.exhausted);
  return [...candidates].sort((a, b) => a.remaining - b.remaining || b.resetSeconds - a.resetSeconds)[0];
}

function rateLimitHeaders(policy: RateLimitPolicyState): Record<string, string> {
  return {
    "RateLimit-Limit": String(policy.limit),
    "RateLimit-Remaining": String(policy.remaining),
    "RateLimit-Reset": String(policy.resetSeconds),
    "RateLimit-Policy": `${policy.limit};w=${policy.windowSeconds}`,
  };
}

const POLICY_WORDS: Record<RateLimitPolicyName, string> = {
  anonymous: "requests per day from this client address without a key",
  user: "requests per day for this user",
  upload: "uploads per day for this user",
  stream: "playback requests per hour",
};

/** Sets headers on the answer, copying it first if its headers are immutable (e.g. from a cache). */
function setResponseHeaders(c: Context<AppEnv>, headers: Record<string, string>) {
  const entries = Object.entries(headers);
  if (entries.length === 0) return;
  try {
    for (const [name, value] of entries) c.res.headers.set(name, value);
  } catch {
    const copy = new Response(c.res.body, c.res);
    for (const [name, value] of entries) copy.headers.set(name, value);
    c.res = copy;
  }
}

interface Counted {
  headers: Record<string, string>;
  /** Set when a policy is exhausted: the 429 to answer instead. */
  refusal?: ApiError;
}

/**
 * Checks (and counts) the request against `names` in one Durable Object call. Null when limits are
 * off, or when the limiter cannot be reached: an outage of the counters must not take the API down.
 */
async function countRequest(
  c: Context<AppEnv>,
  subject: string,
  names: RateLimitPolicyName[],
): Promise<Counted | null> {
  const settings = c.get("settings");
  if (!settings.rateLimits.enabled) return null;
  const policies = names.map((name) => policyFor(name, settings));
  let decision: RateLimitDecision;
  try {
    decision = await c.env.RATE_LIMITER.getByName(subject).check(policies);
  } catch (err) {
    c.get("logger").error("rate limiter unavailable", { error: err instanceof Error ? err.message : String(err) });
    return null;
  }
  const shown = shownPolicy(decision);
  if (!shown) return { headers: {} };
  const headers = rateLimitHeaders(shown);
  if (decision.allowed) return { headers };
  const what = POLICY_WORDS[shown.name as RateLimitPolicyName] ?? `requests (${shown.name})`;
  const refusal = new ApiError(
    "rate_limited",
    `Rate limit reached: ${shown.limit} ${what}; try again in ${shown.resetSeconds} s`,
    {
      details: { policy: shown.name, limit: shown.limit, windowSeconds: shown.windowSeconds },
      headers: { ...headers, "Retry-After": String(shown.resetSeconds) },
    },
  );
  return { headers, refusal };
}

/** Counts the request, refuses it with 429 when a policy is exhausted, and puts `RateLimit-*` on the answer. */
async function enforce(c: Context<AppEnv>, names: RateLimitPolicyName[], next: Next) {
  const counted = await countRequest(c, await rateLimitSubject(c), names);
  if (counted?.refusal) throw counted.refusal;
  await next();
  if (counted) setResponseHeaders(c, counted.headers);
}

type Handler = { [COMPOSED_HANDLER]?: unknown };
const routeLimiters = new WeakSet<object>();
const isRouteLimiter = (handler: unknown) =>
  typeof handler === "function" &&
  (routeLimiters.has(handler) || routeLimiters.has((handler as Handler)[COMPOSED_HANDLER] as object));

/**
 * A route's own limit, e.g. uploads or playback. On an API route it is checked together with the
 * general limit (the user's daily requests, or the client IP's) in the same single call, so the
 * request costs one round trip and is refused without counting anything if either is exhausted.
 *
 * @example
 * createRoute({ method: "post", path: "/api/videos/upload", middleware: [requireUser(), rateLimit({ policy: "upload" })] as const, ... });
 * app.get("/v/:id/manifest.mpd", rateLimit({ policy: "stream" }), serveManifest);
 */
export function rateLimit(options: { policy: RateLimitPolicyName }): MiddlewareHandler<AppEnv> {
  const middleware: MiddlewareHandler<AppEnv> = async function rateLimit(c, next) {
    const names: RateLimitPolicyName[] = [options.policy];
    const general = c.get("rateLimitGeneral");
    if (general) {
      c.set("rateLimitGeneral", undefined);
      if (general !== options.policy) names.unshift(general);
    }
    await enforce(c, names, next);
  };
  routeLimiters.add(middleware);
  return middleware;
}

const exemptMarkers = new WeakSet<object>();
const isExemptMarker = (handler: unknown) =>
  typeof handler === "function" &&
  (exemptMarkers.has(handler) || exemptMarkers.has((handler as Handler)[COMPOSED_HANDLER] as object));

/**
 * Marks a route whose calls are not counted by the general limit because the operation they
 * belong to was counted when it started: the PATCH and HEAD requests of a resumable upload (a
 * 10 GiB upload is hundreds of them) were paid for by its creation, which counts as an upload.
 *
 * @example
 * app.patch("/api/uploads/:id", rateLimitExempt(), requireUser(), handlePatch);
 */
export function rateLimitExempt(): MiddlewareHandler<AppEnv> {
  const middleware: MiddlewareHandler<AppEnv> = async function rateLimitExempt(_c, next) {
    await next();
  };
  exemptMarkers.add(middleware);
  return middleware;
}

/**
 * The general limit of every API call: anonymous callers by client IP, authenticated callers by
 * user. It resolves the caller itself (as `optionalUser()` does), so a request with a malformed or
 * unknown key is counted against its client IP before it is answered 401. When the matched route
 * has its own `rateLimit()`, the general policy is handed to it so both are checked in one call;
 * if the route answers before its limiter runs (e.g. 401 from `requireUser()`), the request is
 * counted afterwards.
 *
 * @example
 * app.use("/api/*", apiCors(), apiRateLimit(), optionalUser());
 */
export function apiRateLimit(): MiddlewareHandler<AppEnv> {
  return async function apiRateLimit(c, next) {
    let general: RateLimitPolicyName;
    try {
      general = (await authenticate(c)) ? "user" : "anonymous";
    } catch (err) {
      if (!(err instanceof ApiError) || err.code !== "unauthorized") throw err;
      const ip = clientSubject(c.req.header("cf-connecting-ip"));
      const counted = await countRequest(c, ip, ["anonymous"]);
      if (counted?.refusal) throw counted.refusal;
      throw new ApiError(err.code, err.message, { headers: { ...err.headers, ...counted?.headers } });
    }
    const routes = matchedRoutes(c);
    if (routes.some((route) => isExemptMarker(route.handler))) return next();
    if (!routes.some((route) => isRouteLimiter(route.handler))) return enforce(c, [general], next);
    c.set("rateLimitGeneral", general);
    await next();
    if (c.get("rateLimitGeneral")) {
      c.set("rateLimitGeneral", undefined);
      await enforce(c, [general], async () => {});
    }
  };
}
