import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

const migrations = await readD1Migrations(new URL("./migrations", import.meta.url).pathname);

/**
 * Two projects: the Worker's tests run inside workerd with the real (local) bindings from
 * wrangler.toml; the transcoder's tests run in Node with real ffmpeg. End-to-end tests have their
 * own config (vitest.e2e.config.ts) because they start the whole platform.
 */
export default defineConfig({
  test: {
    projects: [
      {
        plugins: [
          cloudflareTest({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              bindings: {
                ENVIRONMENT: "test",
                LOG_LEVEL: "warn",
                TRANSCODER_URL: "http://127.0.0.1:9",
                PUBLIC_BASE_URL: "http://api.test",
                TEST_MIGRATIONS: migrations,
              },
            },
          }),
        ],
        test: {
          name: "worker",
          include: ["worker/**/*.test.ts"],
          setupFiles: ["./test/worker-setup.ts"],
        },
      },
      {
        test: {
          name: "transcoder",
          environment: "node",
          include: ["transcoder/**/*.test.ts"],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
