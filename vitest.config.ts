import { readdirSync, readFileSync } from "node:fs";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

const migrations = await readD1Migrations(new URL("./migrations", import.meta.url).pathname);
// A one-second real MP4 (160x90, H.264 + AAC) for upload tests inside workerd.
const tinyMp4 = readFileSync(new URL("./test/fixtures/tiny.mp4", import.meta.url)).toString("base64");
// Stored-file fixtures of the viewer features, by name: small JPEGs (four single colours and a
// 2x2 sheet of tiny.mp4's frames, made by ffmpeg's color source and tile filter) and tiny.mp4's
// audio copied into an M4A (ffmpeg -c copy -f ipod).
const viewerDir = new URL("./test/fixtures/viewer/", import.meta.url);
const viewerFixtures = Object.fromEntries(
  readdirSync(viewerDir).map((name) => [name, readFileSync(new URL(name, viewerDir)).toString("base64")]),
);
// The settings file users copy, so a test can hold it against the settings schema.
const devVarsExample = readFileSync(new URL("./.dev.vars.example", import.meta.url), "utf8");

/**
 * The Worker's outbound requests, in its tests: `import-origin.test` (a reserved name that no DNS
 * answers) goes to 127.0.0.1 on the same port, as a public name whose DNS record points at a
 * private address would; everything else goes out as it is. Import tests use it to reach the test
 * origin by a name the import's host rules let through, and to be redirected from there.
 */
const testDns = `export default {
  fetch(request) {
    const url = new URL(request.url);
    if (url.hostname !== "import-origin.test") return fetch(request, { redirect: "manual" });
    url.hostname = "127.0.0.1";
    return fetch(new Request(url, request), { redirect: "manual" });
  },
};`;

/**
 * Four projects: the Worker's tests run inside workerd with the real (local) bindings from
 * wrangler.toml; the transcoder's tests run in Node with real ffmpeg; the scripts' (npm start's
 * prerequisite check, the page layout) run in Node; the players' tests play real encodes in
 * headless Chromium. End-to-end tests have their
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
                PUBLIC_BASE_URL: "http://api.test",
                TEST_MIGRATIONS: migrations,
                TEST_TINY_MP4: tinyMp4,
                TEST_VIEWER_FIXTURES: viewerFixtures,
                TEST_DEV_VARS_EXAMPLE: devVarsExample,
              },
              outboundService: "test-dns",
              workers: [{ name: "test-dns", modules: true, script: testDns, compatibilityDate: "2026-11-01" }],
            },
          }),
        ],
        test: {
          name: "worker",
          // shared/ runs in both runtimes, so its tests run in both projects.
          include: ["worker/**/*.test.ts", "shared/**/*.test.ts"],
          // Some tests stream tens of MiB through local R2 or the S3 test server: seconds each,
          // more on a busy machine.
          testTimeout: 30_000,
          setupFiles: ["./test/worker-setup.ts"],
          // An S3-compatible server (s3rver) for the S3 storage backend's tests.
          globalSetup: ["./test/worker-global-setup.ts"],
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
      {
        test: {
          name: "scripts",
          environment: "node",
          include: ["scripts/**/*.test.ts"],
        },
      },
      {
        test: {
          name: "players",
          environment: "node",
          // Real encodes played by the vendored players in headless Chromium, without the platform.
          include: ["test/players/**/*.test.ts"],
          globalSetup: ["./test/transcoder/global-setup.ts", "./test/players/global-setup.ts"],
          testTimeout: 180_000,
          hookTimeout: 180_000,
          fileParallelism: false,
          // A page's player runs beside every other project's tests here; once in a while a
          // player misses a step under that load (a captions choice not applied, seen once in
          // many runs), and a second go in a fresh page tells that from a player that cannot.
          retry: 1,
        },
      },
    ],
  },
});
