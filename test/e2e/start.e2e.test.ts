/**
 * `npm start` as a terminal uses it: every way of stopping it (Ctrl-C, SIGTERM, the terminal
 * closed) leaves no process and no port behind, and a second start on the same data or ports
 * says what is running instead of disturbing it; with the S3 backend chosen and no bucket named,
 * it runs a local S3-compatible server and stores in it.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, inject, it } from "vitest";
import { root, signUp, startPlatform } from "../support/platform.ts";
import { ensureFixtures, fixture } from "../transcoder/fixtures.ts";

interface ProcessInfo {
  pid: number;
  ppid: number;
  pgrp: number;
  state: string;
  /** Clock ticks after boot: tells a process from a later one that got the same pid. */
  startTime: string;
  command: string;
}

/** Every process on the machine, from /proc. */
function processes(): Map<number, ProcessInfo> {
  const all = new Map<number, ProcessInfo>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // "pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime
      // stime cutime cstime priority nice threads itrealvalue starttime …"; comm may hold spaces.
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const command = readFileSync(`/proc/${entry}/cmdline`, "utf8").replaceAll("\0", " ").trim();
      all.set(Number(entry), {
        pid: Number(entry),
        ppid: Number(fields[1]),
        pgrp: Number(fields[2]),
        state: fields[0] ?? "",
        startTime: fields[19] ?? "",
        command,
      });
    } catch {
      // It ended while we looked.
    }
  }
  return all;
}

function descendants(of: number): ProcessInfo[] {
  const all = [...processes().values()];
  const found: ProcessInfo[] = [];
  const parents = [of];
  while (parents.length > 0) {
    const parent = parents.pop();
    for (const p of all) {
      if (p.ppid === parent) {
        found.push(p);
        parents.push(p.pid);
      }
    }
  }
  return found;
}

/** The processes that are still there: the same ones (not a reused pid), or any in their groups. */
function survivors(started: ProcessInfo[], groups: Set<number>): ProcessInfo[] {
  const live = [...processes().values()].filter((p) => p.state !== "Z");
  return live.filter((p) => groups.has(p.pgrp) || started.some((s) => s.pid === p.pid && s.startTime === p.startTime));
}

const answers = (url: string) =>
  fetch(url, { signal: AbortSignal.timeout(5_000) }).then(
    () => true,
    () => false,
  );

describe("stopping npm start", () => {
  it.each(["SIGHUP", "SIGINT", "SIGTERM"] as const)(
    "on %s stops the API, the local runner and all they started",
    async (signal) => {
      const platform = await startPlatform({ apiPort: 48787, transcoderPort: 48788 });
      const start = platform.process;
      const pid = start.pid as number;
      let children: ProcessInfo[] = [];
      try {
        children = descendants(pid);
        // What it started: wrangler with its workerd, and the runner, each leading a group.
        expect(children.some((p) => p.command.includes("workerd"))).toBe(true);
        expect(children.some((p) => p.command.includes("transcoder/main.ts"))).toBe(true);
        expect(existsSync(join(platform.stateDir, "streambuddy.pid"))).toBe(true);
        const ownGroup = processes().get(pid)?.pgrp;
        const groups = new Set(children.map((p) => p.pgrp).filter((g) => g !== ownGroup));
        expect(groups.size).toBeGreaterThanOrEqual(2);

        const exited = new Promise<number | null>((r) => start.once("exit", (code) => r(code)));
        process.kill(pid, signal);
        expect(await exited).toBe(0);

        expect(await answers(`${platform.apiUrl}/healthz`)).toBe(false);
        expect(await answers(`${platform.runnerUrl}/healthz`)).toBe(false);
        expect(survivors(children, groups).map((p) => `${p.pid} ${p.command}`)).toEqual([]);
        expect(existsSync(join(platform.stateDir, "streambuddy.pid"))).toBe(false);
      } finally {
        await platform.stop();
        // Whatever a failed run left, so that it does not hold the ports for the next one.
        for (const p of children) {
          try {
            process.kill(p.pid, "SIGKILL");
          } catch {}
        }
      }
    },
  );
});

describe("npm start with STORAGE_BACKEND=s3 and no bucket named", () => {
  it("runs a local S3-compatible server and stores uploads in it", async () => {
    ensureFixtures("quick");
    const platform = await startPlatform({
      apiPort: 48787,
      localRunner: false,
      env: { VAR_STORAGE_BACKEND: "s3", S3_PORT: "48789" },
    });
    try {
      expect(
        platform.logs.some((l) => l.includes("local S3-compatible server: http://127.0.0.1:48789/streambuddy-media/")),
      ).toBe(true);
      const owner = await signUp(platform.apiUrl);
      const bytes = readFileSync(fixture("small-720p.mp4"));
      const form = new FormData();
      form.append("title", "Stored in the local bucket");
      form.append("file", new Blob([bytes], { type: "video/mp4" }), "clip.mp4");
      const res = await fetch(`${platform.apiUrl}/api/videos/upload/`, {
        method: "POST",
        headers: owner.auth,
        body: form,
      });
      expect(res.status).toBe(201);
      const { id } = (await res.json()) as { id: string };
      // The bucket itself lists the source (s3rver takes unsigned requests).
      const listing = await (
        await fetch("http://127.0.0.1:48789/streambuddy-media/?list-type=2&prefix=sources/")
      ).text();
      expect(listing).toContain(`<Key>sources/${id}</Key>`);
      const source = await fetch(`${platform.apiUrl}/api/videos/${id}/source/`, { headers: owner.auth });
      expect(source.status).toBe(200);
      expect(Buffer.from(await source.arrayBuffer()).equals(bytes)).toBe(true);
      // Its objects are kept with the rest of the local state.
      expect(existsSync(join(platform.stateDir, "s3", "streambuddy-media"))).toBe(true);
    } finally {
      await platform.stop();
    }
  });
});

describe("a second npm start", () => {
  const apiUrl = inject("apiUrl");
  const runnerUrl = inject("runnerUrl");
  const stateDir = inject("stateDir");
  const apiPort = new URL(apiUrl).port;
  const transcoderPort = new URL(runnerUrl).port;

  const startAgain = (env: Record<string, string>) =>
    spawnSync(process.execPath, [join(root, "scripts", "start.mjs")], {
      cwd: root,
      env: { ...process.env, ...env },
      encoding: "utf8",
      timeout: 60_000,
    });

  it("on the same data says which one is running and leaves it alone", async () => {
    const running = JSON.parse(readFileSync(join(stateDir, "streambuddy.pid"), "utf8")) as { pid: number };
    expect(processes().get(running.pid)?.command).toContain("scripts/start.mjs");
    const second = startAgain({ API_PORT: apiPort, TRANSCODER_PORT: transcoderPort, STATE_DIR: stateDir });
    expect(second.status).toBe(1);
    expect(second.stderr).toContain(`StreamBuddy is already running (pid ${running.pid}) on ${apiUrl}`);
    expect(second.stderr).toContain("stop it first");
    expect(second.stdout).not.toContain("applying migrations");
    expect(await (await fetch(`${apiUrl}/healthz`)).json()).toEqual({ ok: true });
    expect(await (await fetch(`${runnerUrl}/healthz`)).json()).toMatchObject({ ok: true });
    expect(JSON.parse(readFileSync(join(stateDir, "streambuddy.pid"), "utf8"))).toMatchObject(running);
  });

  it("on the same ports with other data names the port in use and leaves the running one alone", async () => {
    const otherState = mkdtempSync(join(tmpdir(), "streambuddy-e2e-second-"));
    try {
      const second = startAgain({ API_PORT: apiPort, TRANSCODER_PORT: transcoderPort, STATE_DIR: otherState });
      expect(second.status).toBe(1);
      expect(second.stderr).toContain(`port ${apiPort} (API_PORT) is already in use`);
      expect(second.stderr).toContain("set API_PORT");
      expect(second.stdout).not.toContain("applying migrations");
      expect(existsSync(join(otherState, "streambuddy.pid"))).toBe(false);

      const transcoderOnly = startAgain({ API_PORT: "48789", TRANSCODER_PORT: transcoderPort, STATE_DIR: otherState });
      expect(transcoderOnly.status).toBe(1);
      expect(transcoderOnly.stderr).toContain(`port ${transcoderPort} (TRANSCODER_PORT) is already in use`);
      expect(await (await fetch(`${apiUrl}/healthz`)).json()).toEqual({ ok: true });
    } finally {
      rmSync(otherState, { recursive: true, force: true });
    }
  });
});
