/**
 * A stand-in for the Worker's claim endpoint (`POST /internal/runners/claim`), so the runner can
 * be tested on its own: checks the runner token and the claim's schema, hands out the units
 * offered to it (a long poll: a claim waits up to its `wait_seconds` for an offer), records every
 * claim, and can refuse the token, answer with any status, cut connections, and go away and come
 * back on the same port (a restarted Worker). The units' own APIs are fake job APIs
 * (fake-job-api.ts) or anything else the offered assignments point to.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { ClaimRequestSchema, type UnitAssignment } from "../../shared/protocol.ts";
import type { FakeJobApi } from "./fake-job-api.ts";

export const FAKE_RUNNER_TOKEN = `sbr_${"ab".repeat(32)}`;

export interface RecordedClaim {
  authorization: string | undefined;
  wait_seconds: number;
  running: string[];
  capacity: number;
  /** When it arrived and when it was answered (Date.now()). */
  at: number;
  answeredAt: number | null;
  status: number | null;
}

/** Instead of the queue: a status to answer with (and headers), or `drop` to cut the connection. */
export type ScriptedAnswer = { status: number; headers?: Record<string, string>; body?: unknown } | "drop";

export interface FakeWorker {
  url: string;
  claims: RecordedClaim[];
  /** The most claims that were waiting at once. */
  maxClaimsInFlight: number;
  /** Puts units up for claims, in order; a waiting claim gets the first at once. */
  offer(...units: UnitAssignment[]): void;
  /** The next claims are answered like this, one each, before any offer is handed out. */
  script(...answers: ScriptedAnswer[]): void;
  /** Every later claim is answered 401, as for a revoked token. */
  revoke(): void;
  /** Resolves once `n` claims have arrived in all. */
  claimsReached(n: number, timeoutMs?: number): Promise<void>;
  /** Stops listening and cuts every connection: the Worker is down. */
  goAway(): Promise<void>;
  /** Listens again on the same port. */
  comeBack(): Promise<void>;
  close(): Promise<void>;
}

const send = (res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}) => {
  const data = body === undefined ? "" : JSON.stringify(body);
  res.writeHead(status, {
    ...(body === undefined ? {} : { "content-type": "application/json" }),
    "content-length": Buffer.byteLength(data),
    ...headers,
  });
  res.end(data);
};

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

export async function startFakeWorker(options: { token?: string } = {}): Promise<FakeWorker> {
  const token = options.token ?? FAKE_RUNNER_TOKEN;
  const claims: RecordedClaim[] = [];
  const offers: UnitAssignment[] = [];
  const scripted: ScriptedAnswer[] = [];
  const waiting = new Set<() => void>();
  const sockets = new Set<Socket>();
  let revoked = false;
  let inFlight = 0;
  let maxClaimsInFlight = 0;
  const onClaim = new Set<() => void>();

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? "/", "http://fake").pathname;
    if (path !== "/internal/runners/claim") return send(res, 404, { error: { code: "not_found" } });
    if (req.method !== "POST") return send(res, 405, { error: { code: "method_not_allowed" } });
    const parsed = ClaimRequestSchema.safeParse(JSON.parse((await readBody(req)) || "{}"));
    if (!parsed.success) return send(res, 400, { error: { code: "validation_error" } });
    const claim: RecordedClaim = {
      authorization: req.headers.authorization,
      ...parsed.data,
      at: Date.now(),
      answeredAt: null,
      status: null,
    };
    claims.push(claim);
    for (const wake of onClaim) wake();
    const answer = (status: number, body?: unknown, headers?: Record<string, string>) => {
      claim.answeredAt = Date.now();
      claim.status = status;
      send(res, status, body, headers);
    };
    if (req.headers.authorization !== `Bearer ${token}` || revoked) {
      return answer(401, { error: { code: "unauthorized", message: "The runner token is not valid" } });
    }
    const next = scripted.shift();
    if (next === "drop") return req.socket.destroy();
    if (next) return answer(next.status, next.body, next.headers);
    inFlight++;
    maxClaimsInFlight = Math.max(maxClaimsInFlight, inFlight);
    try {
      const deadline = Date.now() + parsed.data.wait_seconds * 1000;
      while (offers.length === 0 && Date.now() < deadline && !res.destroyed) {
        await new Promise<void>((resolve) => {
          const wake = () => {
            clearTimeout(timer);
            waiting.delete(wake);
            resolve();
          };
          const timer = setTimeout(wake, Math.max(0, deadline - Date.now()));
          waiting.add(wake);
        });
      }
      const unit = parsed.data.running.length < parsed.data.capacity ? offers.shift() : undefined;
      if (res.destroyed) {
        if (unit) offers.unshift(unit);
        return;
      }
      return unit ? answer(200, { unit }) : answer(204);
    } finally {
      inFlight--;
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) send(res, 500);
      else res.destroy();
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
  await listen(0);
  const { port } = server.address() as AddressInfo;
  const goAway = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const socket of sockets) socket.destroy();
      for (const wake of waiting) wake();
    });

  return {
    url: `http://127.0.0.1:${port}`,
    claims,
    get maxClaimsInFlight() {
      return maxClaimsInFlight;
    },
    offer(...units) {
      offers.push(...units);
      for (const wake of [...waiting]) wake();
    },
    script(...answers) {
      scripted.push(...answers);
    },
    revoke() {
      revoked = true;
    },
    claimsReached(n, timeoutMs = 30_000) {
      return new Promise<void>((resolve, reject) => {
        const check = () => {
          if (claims.length < n) return;
          clearTimeout(timer);
          onClaim.delete(check);
          resolve();
        };
        const timer = setTimeout(() => {
          onClaim.delete(check);
          reject(new Error(`only ${claims.length} of ${n} claims arrived`));
        }, timeoutMs);
        onClaim.add(check);
        check();
      });
    },
    goAway,
    comeBack: () => listen(port),
    close: goAway,
  };
}

/** A unit assignment for one of a fake job API's jobs, served under its `/internal/units/<unitId>`. */
export function unitFor(api: FakeJobApi, unitId: string, overrides: Partial<UnitAssignment> = {}): UnitAssignment {
  return { ...api.job(), unitId, kind: "encode", attempt: 1, leaseSeconds: 60, input: {}, ...overrides };
}
