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
    // What a page shows after a navigation or a click can take seconds on a busy machine; the
    // default of 1 s made assertions on it fail by timing alone.
    expect: { poll: { timeout: 30_000, interval: 100 } },
  },
});
