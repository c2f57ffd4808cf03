import { readFileSync } from "node:fs";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

const migrations = await readD1Migrations(new URL("./migrations", import.meta.url).pathname);
// A one-second real MP4 (160x90, H.264 + AAC) for upload tests inside workerd.
const tinyMp4 = readFileSync(new URL("./test/fixtures/tiny.mp4", import.meta.url)).toString("base64");

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
                TEST_TINY_MP4: tinyMp4,
              },
            },
          }),
        ],
        test: {
          name: "worker",
          // shared/ runs in both runtimes, so its tests run in both projects.
          include: ["worker/**/*.test.ts", "shared/**/*.test.ts"],
          setupFiles: ["./test/worker-setup.ts"],
        },
      },
      {
        test: {
          name: "transcoder",
          environment: "node",
          include: ["transcoder/**/*.test.ts", "shared/**/*.test.ts"],
          // Makes the quick fixture set (scripts/make-fixtures.sh) into test/fixtures/.cache once.
          globalSetup: ["./test/transcoder/global-setup.ts"],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
