import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, describe, expect, inject, it } from "vitest";
import { signUp } from "../support/platform.ts";
import { sha256File, sha256Response } from "./api.ts";

const api = inject("apiUrl");
const MiB = 1024 * 1024;
const work = mkdtempSync(join(tmpdir(), "streambuddy-e2e-uploads-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A file that starts like an MP4 (so the upload is accepted) followed by random bytes. */
function mp4LikeFile(size: number): string {
  const path = join(work, `upload-${size}.mp4`);
  const data = randomBytes(size);
  Buffer.from([0, 0, 0, 0x20, 0x66, 0x74, 0x79, 0x70, 0x69, 0x73, 0x6f, 0x6d]).copy(data, 0);
  writeFileSync(path, data);
  return path;
}

/** Runs the stock tus client in its own process; `onLine` may kill it. */
function runClient(args: string[], onLine: (line: string, child: ChildProcess) => void) {
  const child = spawn(process.execPath, [join(import.meta.dirname, "tus-client.ts"), ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: string[] = [];
  createInterface({ input: child.stdout }).on("line", (line) => {
    lines.push(line);
    onLine(line, child);
  });
  child.stderr?.on("data", (d) => lines.push(`stderr ${d}`));
  return new Promise<{ code: number | null; signal: string | null; lines: string[] }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal, lines })),
  );
}

describe("resumable upload with a stock tus client", () => {
  it("survives the client being killed midway and ends byte-identical", async () => {
    const account = await signUp(api);
    const file = mp4LikeFile(64 * MiB);
    const storage = join(work, "tus-urls.json");
    const args = [`${api}/api/uploads/`, account.key, file, storage, String(8 * MiB)];

    const first = await runClient(args, (line, child) => {
      const offset = Number(/^offset (\d+)/.exec(line)?.[1] ?? 0);
      if (offset >= 24 * MiB) child.kill("SIGKILL");
    });
    expect(first.signal).toBe("SIGKILL");
    const killedAt = Math.max(...first.lines.map((l) => Number(/^offset (\d+)/.exec(l)?.[1] ?? 0)));
    expect(killedAt).toBeLessThan(64 * MiB);

    const second = await runClient(args, () => {});
    expect(second.code, second.lines.join("\n")).toBe(0);
    const resumed = second.lines.find((l) => l.startsWith("resumed "));
    expect(resumed).toBeDefined();
    const offsets = second.lines.map((l) => Number(/^offset (\d+)/.exec(l)?.[1] ?? Number.NaN)).filter(Number.isFinite);
    // The second client continued where the first stopped, instead of starting over.
    expect(Math.min(...offsets)).toBeGreaterThan(killedAt);
    const url = second.lines.find((l) => l.startsWith("done "))?.slice(5) ?? "";
    const videoId = url.slice(url.lastIndexOf("/") + 1);

    const source = await fetch(`${api}/api/videos/${videoId}/source/`, { headers: account.auth });
    expect(source.status).toBe(200);
    expect(await sha256Response(source)).toBe(await sha256File(file));
  });
});

describe("refusals over a real connection", () => {
  it("answers a text file sent through tus with 415 while the client is still sending", async () => {
    const account = await signUp(api);
    const text = Buffer.from("this is plain text pretending to be an mp4\n".repeat(200_000));
    const meta = (o: Record<string, string>) =>
      Object.entries(o)
        .map(([k, v]) => `${k} ${Buffer.from(v).toString("base64")}`)
        .join(",");
    const created = await fetch(`${api}/api/uploads/`, {
      method: "POST",
      headers: {
        ...account.auth,
        "tus-resumable": "1.0.0",
        "upload-length": String(text.length),
        "upload-metadata": meta({ title: "Not a video", filetype: "video/mp4", filename: "x.mp4" }),
      },
    });
    expect(created.status).toBe(201);
    const res = await fetch(created.headers.get("location") ?? "", {
      method: "PATCH",
      headers: {
        ...account.auth,
        "tus-resumable": "1.0.0",
        "upload-offset": "0",
        "content-type": "application/offset+octet-stream",
      },
      body: text,
    });
    expect(res.status).toBe(415);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("unsupported_media_type");
    expect(body.error.message).toMatch(/not a video/);
  });
});
