import { Container } from "@cloudflare/containers";
import { INTERNAL_API_HOST } from "./dispatcher";

/**
 * The FFmpeg transcoder as a Cloudflare Container (Dockerfile.transcoder), one instance per job.
 * It has no internet: its requests to the internal job API's virtual host are answered by this
 * Worker through outbound interception, so it never holds storage credentials.
 */
export class Transcoder extends Container<Env> {
  override defaultPort = 8788;
  // No request is in flight while ffmpeg runs (the dispatch answered 202), so the instance would
  // sleep after this long; every job event renews it (keepAlive), and the job's end stops it.
  override sleepAfter = "5m";
  override enableInternet = false;

  /** Renews the activity timeout: called on each event of the job running here. */
  async keepAlive(): Promise<void> {
    this.renewActivityTimeout();
  }

  /** The job has ended: let the server finish its last request, then stop the instance. */
  async finish(): Promise<void> {
    await this.stop("SIGTERM");
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
