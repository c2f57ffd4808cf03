import type { Context, MiddlewareHandler } from "hono";
import { PatternRouter } from "hono/router/pattern-router";
import { ApiError } from "../app/errors";
import type { Settings } from "../app/settings";
import type { AppEnv } from "../app/types";
import { authenticate } from "../auth/authenticate";
import type { RateLimitDecision, RateLimitPolicy, RateLimitPolicyState } from "../durable/rate-limiter";

/**
 * `anonymous` and `user` are the general limits of every API call (by client IP, by user);
 * `upload` and `stream` are added by the routes that upload or play.
 */
export type RateLimitPolicyName = "anonymous" | "user" | "upload" | "stream";
/** The limits a route adds to the general one. */
export type RouteRateLimitPolicy = "upload" | "stream";

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

/**
 * A route's place in the rate limits: the policy it adds to the general limit, or that the general
 * limit does not count it. Declared in one table (worker/routes/rate-limits.ts), not by markers in
 * the handlers.
 */
export interface RouteRateLimit {
  methods: readonly string[];
  /** A route pattern as Hono writes it (`/api/uploads/:id`); a trailing slash makes no difference. */
  path: string;
  /** The route's own policy, checked in the same call as the general limit. */
  policy?: RouteRateLimitPolicy;
  /**
   * Whether the general limit counts the call: false for the later requests of an operation whose
   * start was counted (a resumable upload's PATCH, HEAD and DELETE), and outside `/api`.
   */
  general?: boolean;
  /** Only requests whose path passes this count against `policy` (e.g. manifests, not segments). */
  when?: (pathname: string) => boolean;
}

/** Policies that only mean something for a signed-in caller: an anonymous call counts the general limit alone. */
const PER_USER: ReadonlySet<RateLimitPolicyName> = new Set(["upload"]);

const normalizePath = (path: string) => (path.length > 1 ? path.replace(/\/+$/, "") : path);

/**
 * The rate limits of the app, from one table of routes. Every `/api` call counts once against the
 * general limit: by user when it presents a valid key, otherwise by client IP; a call with a
 * malformed or unknown key is counted against its IP before it is answered 401. A route listed in
 * the table adds its policy, checked together with the general limit in one Durable Object call
 * (so a refused request counts nothing), or is left out of the general limit. Paths outside
 * `/api` count only against the policies the table gives them.
 *
 * @example
 * app.use("/api/*", rateLimits(ROUTE_RATE_LIMITS));
 * app.use("/v/*", rateLimits(ROUTE_RATE_LIMITS));
 */
export function rateLimits(routes: readonly RouteRateLimit[]): MiddlewareHandler<AppEnv> {
  const router = new PatternRouter<RouteRateLimit>();
  for (const route of routes) {
    for (const method of route.methods) router.add(method.toUpperCase(), normalizePath(route.path), route);
  }
  const routeOf = (method: string, path: string): RouteRateLimit | undefined => {
    const [hits] = router.match(method, path) as unknown as [[RouteRateLimit, unknown][]];
    return hits[0]?.[0];
  };

  return async function rateLimits(c, next) {
    const pathname = normalizePath(new URL(c.req.url).pathname);
    const route = routeOf(c.req.method, pathname);
    const counted = route?.general ?? pathname.startsWith("/api/");
    let user: Awaited<ReturnType<typeof authenticate>>;
    try {
      user = await authenticate(c);
    } catch (err) {
      if (!(err instanceof ApiError) || err.code !== "unauthorized" || !counted) throw err;
      const ip = clientSubject(c.req.header("cf-connecting-ip"));
      const result = await countRequest(c, ip, ["anonymous"]);
      if (result?.refusal) throw result.refusal;
      throw new ApiError(err.code, err.message, { headers: { ...err.headers, ...result?.headers } });
    }
    const names: RateLimitPolicyName[] = [];
    if (counted) names.push(user ? "user" : "anonymous");
    const own = route?.policy;
    if (own && (route.when?.(pathname) ?? true) && (user || !PER_USER.has(own))) names.push(own);
    if (names.length === 0) return next();
    const subject = user ? `user:${user.id}` : clientSubject(c.req.header("cf-connecting-ip"));
    const result = await countRequest(c, subject, names);
    if (result?.refusal) throw result.refusal;
    await next();
    if (result) setResponseHeaders(c, result.headers);
  };
}
