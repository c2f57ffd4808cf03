import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createServices } from "../services";
import { testDb } from "../testing/seed";
import { containerRunnerEnv, INTERNAL_API_HOST, startContainerRunner, Transcoder } from "./container";
import { authenticateRunner, registerPlatformRunner } from "./runners";

describe("the Transcoder container class", () => {
  it("offers the start, keep-alive and stop calls the runner pool makes", () => {
    const proto = Transcoder.prototype as unknown as Record<string, unknown>;
    expect(typeof proto.startRunner).toBe("function");
    expect(typeof proto.keepAlive).toBe("function");
    expect(typeof proto.stopRunner).toBe("function");
  });

  it("answers the internal host with this Worker's app", async () => {
    const handler = Transcoder.outboundByHost?.[INTERNAL_API_HOST];
    expect(handler).toBeTypeOf("function");
    const res = await (handler as (r: Request, e: Env, c: unknown) => Promise<Response>)(
      new Request(`http://${INTERNAL_API_HOST}/internal/units/some-unit/source`),
      env,
      { containerId: "x", className: "Transcoder" },
    );
    // Reached the app: the internal API itself refuses a request without a unit token.
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("unauthorized");
    const claim = await (handler as (r: Request, e: Env, c: unknown) => Promise<Response>)(
      new Request(`http://${INTERNAL_API_HOST}/internal/runners/claim`, { method: "POST" }),
      env,
      {},
    );
    expect(claim.status).toBe(401);
  });

  it("sends nothing else through that host: other paths get the app's 404", async () => {
    const handler = Transcoder.outboundByHost?.[INTERNAL_API_HOST] as (
      r: Request,
      e: Env,
      c: unknown,
    ) => Promise<Response>;
    const res = await handler(new Request(`http://${INTERNAL_API_HOST}/nope`), env, {});
    expect(res.status).toBe(404);
  });
});

describe("starting a container runner", () => {
  const settings = createServices(env).settings;

  it("registers a fresh token before the container starts with it, and the token claims as that runner", async () => {
    const steps: string[] = [];
    let started: Record<string, string> = {};
    const outcome = await startContainerRunner({
      runnerId: "container-7",
      running: () => false,
      register: async (token) => {
        steps.push("register");
        await registerPlatformRunner(testDb(), { id: "container-7", name: "container-7", kind: "container" }, token);
      },
      start: async (envVars) => {
        steps.push("start");
        started = envVars;
      },
    });
    expect(outcome).toBe("started");
    expect(steps).toEqual(["register", "start"]);
    expect(started).toMatchObject({ RUNNER_ID: "container-7", RUNNER_API_BASE: `http://${INTERNAL_API_HOST}` });
    const found = await authenticateRunner(testDb(), settings, started.RUNNER_TOKEN ?? "");
    expect(found).toMatchObject({ ok: true, runner: { id: "container-7", kind: "container" } });
  });

  it("leaves a running container and its token alone", async () => {
    const outcome = await startContainerRunner({
      runnerId: "container-8",
      running: () => true,
      register: async () => {
        throw new Error("must not mint a token");
      },
      start: async () => {
        throw new Error("must not start");
      },
    });
    expect(outcome).toBe("running");
  });

  it("gives a restarted container a new token: the old one, revoked or not, opens nothing", async () => {
    const db = testDb();
    const runner = { id: "container-9", name: "container-9", kind: "container" as const };
    const first = containerRunnerEnv("container-9", `sbr_${"1".repeat(64)}`).RUNNER_TOKEN as string;
    await registerPlatformRunner(db, runner, first);
    const second = `sbr_${"2".repeat(64)}`;
    await registerPlatformRunner(db, runner, second);
    expect(await authenticateRunner(db, settings, first)).toEqual({ ok: false, reason: "unknown" });
    expect(await authenticateRunner(db, settings, second)).toMatchObject({ ok: true });
  });
});
