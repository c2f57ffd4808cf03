import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..");
const check = join(root, "scripts", "check-prereqs.mjs");

// A PATH with Node.js on it and nothing else: no ffmpeg, no ffprobe.
const onlyNode = mkdtempSync(join(tmpdir(), "streambuddy-prereqs-"));
symlinkSync(process.execPath, join(onlyNode, "node"));
afterAll(() => rmSync(onlyNode, { recursive: true, force: true }));

const run = (args: string[], env: Record<string, string>) =>
  spawnSync(join(onlyNode, "node"), args, { cwd: root, env, encoding: "utf8", timeout: 60_000 });

describe("the prerequisite check", () => {
  it("names ffmpeg, ffprobe and Chromium with how to install them when they are missing", () => {
    const result = run([check], { PATH: onlyNode, CHROMIUM_PATH: join(onlyNode, "chromium") });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("npm test needs what is not installed here");
    expect(result.stderr).toMatch(/- ffmpeg .*not found/);
    expect(result.stderr).toMatch(/- ffprobe .*not found/);
    expect(result.stderr).toContain("apt-get install ffmpeg");
    expect(result.stderr).toContain("brew install ffmpeg");
    expect(result.stderr).toContain(`Chromium for the end-to-end tests (nothing executable at ${onlyNode}/chromium)`);
    expect(result.stderr).toContain("apt-get install chromium");
    expect(result.stderr).toContain("CHROMIUM_PATH");
    expect(result.stderr).not.toContain("Node.js ≥");
  });

  it("asks npm run runner only for ffmpeg and ffprobe, by its name", () => {
    const result = run([check, "runner"], { PATH: onlyNode, CHROMIUM_PATH: join(onlyNode, "chromium") });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("npm run runner needs what is not installed here");
    expect(result.stderr).toMatch(/- ffmpeg .*not found/);
    expect(result.stderr).not.toContain("Chromium");
  });

  it("asks npm start only for ffmpeg and ffprobe", () => {
    const result = run([check, "start"], { PATH: onlyNode, CHROMIUM_PATH: join(onlyNode, "chromium") });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("npm start needs what is not installed here");
    expect(result.stderr).toContain("apt-get install ffmpeg");
    expect(result.stderr).not.toContain("Chromium");
  });

  it("passes silently when everything is there", () => {
    const result = spawnSync(process.execPath, [check], { cwd: root, env: process.env, encoding: "utf8" });
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
  });

  it("refuses a Node.js older than 22.12 and says how to get a newer one", async () => {
    const path = check; // a non-literal specifier: the module is plain JavaScript without declarations
    const { missingPrerequisites, describeMissing } = await import(path);
    for (const version of ["20.19.0", "22.11.0"]) {
      const text = describeMissing(missingPrerequisites("start", process.env, version), "start");
      expect(text, version).toContain(`Node.js ≥ 22.12 (this is ${version}`);
      expect(text).toContain("npm ci");
    }
    expect(missingPrerequisites("start", process.env, "22.12.0")).toEqual([]);
    expect(missingPrerequisites("start", process.env, "24.0.0")).toEqual([]);
  });
});

describe("npm start without ffmpeg", () => {
  it("stops before starting anything and names what is missing", () => {
    const stateDir = mkdtempSync(join(tmpdir(), "streambuddy-prereqs-state-"));
    try {
      const result = run([join(root, "scripts", "start.mjs")], { PATH: onlyNode, STATE_DIR: stateDir });
      expect(result.status).toBe(1);
      expect(result.stderr).toContain("npm start needs what is not installed here");
      expect(result.stderr).toContain("apt-get install ffmpeg");
      expect(result.stdout).not.toContain("applying migrations");
    } finally {
      rmSync(stateDir, { recursive: true, force: true });
    }
  });
});
