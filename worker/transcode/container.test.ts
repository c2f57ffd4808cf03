import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { Transcoder } from "./container";
import { INTERNAL_API_HOST } from "./dispatcher";

describe("the Transcoder container class", () => {
  it("offers the keep-alive and finish calls the dispatcher makes on job events", () => {
    const proto = Transcoder.prototype as unknown as Record<string, unknown>;
    expect(typeof proto.keepAlive).toBe("function");
    expect(typeof proto.finish).toBe("function");
  });

  it("answers the internal job API's virtual host with this Worker's app", async () => {
    const handler = Transcoder.outboundByHost?.[INTERNAL_API_HOST];
    expect(handler).toBeTypeOf("function");
    const res = await (handler as (r: Request, e: Env, c: unknown) => Promise<Response>)(
      new Request(`http://${INTERNAL_API_HOST}/internal/jobs/some-job/source`),
      env,
      { containerId: "x", className: "Transcoder" },
    );
    // Reached the app: the internal API itself refuses a request without a job token.
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("unauthorized");
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
