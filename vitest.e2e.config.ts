import { defineConfig } from "vitest/config";

/** End-to-end tests: the whole platform as `npm start` runs it, real ffmpeg, real Chromium. */
export default defineConfig({
  test: {
    name: "e2e",
    include: ["test/e2e/**/*.e2e.test.ts"],
    globalSetup: ["./test/e2e/global-setup.ts"],
    environment: "node",
    testTimeout: 300_000,
    hookTimeout: 180_000,
    fileParallelism: false,
  },
});
