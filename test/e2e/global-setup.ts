import type { TestProject } from "vitest/node";
import { startPlatform } from "../support/platform.ts";

declare module "vitest" {
  export interface ProvidedContext {
    apiUrl: string;
    runnerUrl: string;
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
  project.provide("runnerUrl", platform.runnerUrl);
  project.provide("stateDir", platform.stateDir);
  return () => platform.stop();
}
