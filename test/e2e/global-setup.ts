import type { TestProject } from "vitest/node";
import { startPlatform } from "../support/platform.ts";

declare module "vitest" {
  export interface ProvidedContext {
    apiUrl: string;
    transcoderUrl: string;
    stateDir: string;
  }
}

/** One platform for every end-to-end file, started as `npm start` starts it. */
export default async function setup(project: TestProject) {
  const platform = await startPlatform({
    apiPort: Number(process.env.E2E_API_PORT ?? 18787),
    transcoderPort: Number(process.env.E2E_TRANSCODER_PORT ?? 18788),
  });
  project.provide("apiUrl", platform.apiUrl);
  project.provide("transcoderUrl", platform.transcoderUrl);
  project.provide("stateDir", platform.stateDir);
  return () => platform.stop();
}
