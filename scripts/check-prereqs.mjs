#!/usr/bin/env node
// What `npm test` and `npm start` need beyond node_modules, checked before anything else runs, so
// that a missing tool is named with how to install it instead of failing half-way through.
//   node scripts/check-prereqs.mjs          for npm test: Node.js, ffmpeg, ffprobe, Chromium
//   node scripts/check-prereqs.mjs start    for npm start: Node.js, ffmpeg, ffprobe
//   node scripts/check-prereqs.mjs runner   for npm run runner: the same
// Exits 1 with the list of what is missing, 0 (silently) when everything is there.
// Plain JavaScript with nothing imported beyond Node itself, so it runs on any Node.js that is too old.
import { spawnSync } from "node:child_process";
import { accessSync, constants, realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";

const MIN_NODE = [22, 12];

function nodeProblem(version) {
  const [major = 0, minor = 0] = version.split(".").map(Number);
  if (major > MIN_NODE[0] || (major === MIN_NODE[0] && minor >= MIN_NODE[1])) return null;
  return {
    what: `Node.js ≥ ${MIN_NODE.join(".")} (this is ${version}; wrangler refuses older ones)`,
    install: [
      "`npm ci` installs Node.js 24 into node_modules/.bin, which every `npm run` script uses: run `npm ci`, then `npm test` or `npm start`",
      "or install Node.js 22.12 or newer (https://nodejs.org/)",
    ],
  };
}

/** Whether `command -version` runs: the binary exists, is executable and starts. */
function runs(command) {
  const result = spawnSync(command, ["-version"], { stdio: "ignore", timeout: 20_000 });
  return !result.error && result.status === 0;
}

function executable(path) {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

const FFMPEG_INSTALL = ["Debian/Ubuntu: apt-get install ffmpeg", "macOS: brew install ffmpeg"];

/**
 * What is missing, each with how to get it. `purpose` "start" and "runner" need what a runner runs
 * (ffmpeg and ffprobe, honouring FFMPEG_PATH/FFPROBE_PATH as the transcoder does);
 * "test" also needs Chromium for the end-to-end tests and the tools on PATH, where the test
 * fixtures and checks call them.
 */
export function missingPrerequisites(purpose = "test", env = process.env, nodeVersion = process.versions.node) {
  const missing = [];
  const node = nodeProblem(nodeVersion);
  if (node) missing.push(node);
  const runsTranscoder = purpose === "start" || purpose === "runner";
  const ffmpeg = runsTranscoder ? (env.FFMPEG_PATH ?? "ffmpeg") : "ffmpeg";
  const ffprobe = runsTranscoder ? (env.FFPROBE_PATH ?? "ffprobe") : "ffprobe";
  if (!runs(ffmpeg)) {
    missing.push({ what: `ffmpeg (\`${ffmpeg}\` was not found or does not run)`, install: FFMPEG_INSTALL });
  }
  if (!runs(ffprobe)) {
    missing.push({
      what: `ffprobe (\`${ffprobe}\` was not found or does not run; it comes with ffmpeg)`,
      install: FFMPEG_INSTALL,
    });
  }
  if (purpose === "test") {
    const chromium = env.CHROMIUM_PATH ?? "/usr/bin/chromium";
    if (!executable(chromium)) {
      missing.push({
        what: `Chromium for the end-to-end tests (nothing executable at ${chromium})`,
        install: [
          "Debian/Ubuntu: apt-get install chromium",
          "or set CHROMIUM_PATH to a Chromium or Chrome binary (macOS: brew install --cask chromium)",
        ],
      });
    }
  }
  return missing;
}

export function describeMissing(missing, purpose = "test") {
  const lines = [`npm ${purpose === "runner" ? "run runner" : purpose} needs what is not installed here:`];
  for (const { what, install } of missing) {
    lines.push(`  - ${what}`);
    for (const how of install) lines.push(`      ${how}`);
  }
  return lines.join("\n");
}

if (process.argv[1] && fileURLToPath(import.meta.url) === realpathSync(process.argv[1])) {
  const purpose = ["start", "runner"].includes(process.argv[2]) ? process.argv[2] : "test";
  const missing = missingPrerequisites(purpose);
  if (missing.length > 0) {
    console.error(describeMissing(missing, purpose));
    process.exit(1);
  }
}
