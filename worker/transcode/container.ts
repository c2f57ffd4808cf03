import { Container } from "@cloudflare/containers";

/**
 * The FFmpeg transcoder as a Cloudflare Container (Dockerfile.transcoder): one instance per job.
 * It has no internet; it reaches the Worker's internal job API through outbound interception.
 */
export class Transcoder extends Container<Env> {
  override defaultPort = 8788;
  override sleepAfter = "10m";
  override enableInternet = false;
}
