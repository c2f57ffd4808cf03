import { Container } from "@cloudflare/containers";
import { containerRunnerEnv, INTERNAL_API_HOST } from "../../shared/protocol";
import { createDb } from "../db/client";
import { createServices } from "../services";
import { returnUnitsOf } from "./lifecycle";
import { newRunnerToken, registerPlatformRunner } from "./runners";

export { containerRunnerEnv, INTERNAL_API_HOST };

/**
 * Starts a container runner unless it runs already: a fresh runner token is minted and its hash
 * registered before the container starts with it, so its first claim is accepted and an older
 * token (a revoked one) is not.
 */
export async function startContainerRunner(steps: {
  running: () => boolean;
  register: (token: string) => Promise<void>;
  start: (envVars: Record<string, string>) => Promise<void>;
  runnerId: string;
}): Promise<"started" | "running"> {
  if (steps.running()) return "running";
  const token = newRunnerToken();
  await steps.register(token);
  await steps.start(containerRunnerEnv(steps.runnerId, token));
  return "started";
}

/**
 * The FFmpeg transcoder as a Cloudflare Container (Dockerfile.transcoder): one runner per
 * instance, started by the Worker's runner pool while units wait. It has no internet: its
 * requests to the internal host are answered by this Worker through outbound interception, so it
 * never holds storage credentials, only its runner token. It claims work itself; no request
 * comes in while it works, so claims that get a unit and the unit's events keep it awake, and it
 * stops once it has had no work for `sleepAfter`.
 */
export class Transcoder extends Container<Env> {
  override defaultPort = 8788;
  override sleepAfter = "5m";
  override enableInternet = false;
  private starting: Promise<"started" | "running"> | undefined;

  /** Starts the runner with a platform-minted token unless it runs already (then keeps it awake). */
  async startRunner(runnerId: string): Promise<"started" | "running"> {
    // One start at a time per instance: a second caller shares the first one's token.
    this.starting ??= startContainerRunner({
      runnerId,
      running: () => Boolean(this.ctx.container?.running),
      register: (token) =>
        registerPlatformRunner(createDb(this.env.DB), { id: runnerId, name: runnerId, kind: "container" }, token),
      start: (envVars) => this.start({ envVars }),
    }).finally(() => {
      this.starting = undefined;
    });
    const outcome = await this.starting;
    this.renewActivityTimeout();
    return outcome;
  }

  /** The runner got work or reported on it. */
  async keepAlive(): Promise<void> {
    this.renewActivityTimeout();
  }

  /** Its token was revoked: the server finishes or abandons its unit on SIGTERM and exits. */
  async stopRunner(): Promise<void> {
    await this.stop("SIGTERM");
  }

  /** Whatever it held goes back to pending now, instead of when its lease runs out. */
  override async onStop(): Promise<void> {
    const runnerId = this.ctx.id.name;
    if (!runnerId) return;
    try {
      const services = createServices(this.env, { runnerId });
      await returnUnitsOf(services, runnerId, "lost");
    } catch (err) {
      // Their leases run out all the same; the next claim or sweep returns them.
      console.warn(
        JSON.stringify({ msg: "returning a stopped container's units failed", runnerId, error: String(err) }),
      );
    }
  }
}

// Set after the class body: the handler needs the Worker's app, loaded lazily to keep the class
// module free of the app's import graph.
Transcoder.outboundByHost = {
  [INTERNAL_API_HOST]: async (request: Request, env: Env) => {
    const { app } = await import("../app");
    return app.fetch(request, env);
  },
};
