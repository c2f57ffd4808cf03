/**
 * An import fetches what a user names, so it must not be a way into this machine or a private
 * network: URLs with a literal non-public address, localhost names and other schemes are 400 in
 * the error envelope (nothing created), every redirect hop is checked again (a public URL that
 * redirects to 127.0.0.1 fails the video, and 127.0.0.1 is never asked), and the setting that
 * lifts the rule for local development is refused where it could do harm.
 */
import { eq } from "drizzle-orm";
import { describe, expect, inject, it } from "vitest";
import { loadSettings } from "../../app/settings";
import { videos } from "../../db/schema";
import { callApp } from "../../testing/api";
import { TUS } from "../../testing/http";
import { importer, originRequests, originUrl, publicOriginUrl, seriesKey } from "../../testing/imports";
import { testDb } from "../../testing/seed";

const { port } = inject("importOrigin");

describe("POST /api/videos/import/ refuses URLs that are not on a public host", () => {
  it.each([
    ["loopback", `http://127.0.0.1:${port}/video.mp4`],
    ["loopback, shorthand", "http://127.1/video.mp4"],
    ["loopback, as a number", "http://2130706433/video.mp4"],
    ["loopback, in hex", "http://0x7f000001/video.mp4"],
    ["unspecified", "http://0.0.0.0/video.mp4"],
    ["private, 10/8", "http://10.0.0.5/video.mp4"],
    ["private, 172.16/12", "https://172.20.1.1/video.mp4"],
    ["private, 192.168/16", "http://192.168.1.1/video.mp4"],
    ["link-local (cloud metadata)", "http://169.254.169.254/latest/meta-data/"],
    ["CGNAT", "http://100.64.0.1/video.mp4"],
    ["multicast", "http://224.0.0.1/video.mp4"],
    ["broadcast", "http://255.255.255.255/video.mp4"],
    ["IPv6 loopback", "http://[::1]/video.mp4"],
    ["IPv6 unspecified", "http://[::]/video.mp4"],
    ["IPv6 unique-local", "http://[fd12:3456::1]/video.mp4"],
    ["IPv6 link-local", "http://[fe80::1]/video.mp4"],
    ["IPv6 multicast", "http://[ff02::1]/video.mp4"],
    ["IPv4-mapped loopback", "http://[::ffff:127.0.0.1]/video.mp4"],
    ["IPv4-mapped private", "http://[::ffff:10.0.0.1]/video.mp4"],
    ["NAT64 of a private address", "http://[64:ff9b::a00:1]/video.mp4"],
    ["localhost", `http://localhost:${port}/video.mp4`],
    ["localhost with the root dot", "http://localhost./video.mp4"],
    ["a name under localhost", "http://media.localhost/video.mp4"],
    ["file", "file:///etc/passwd"],
    ["ftp", "ftp://media.example.com/video.mp4"],
    ["data", "data:video/mp4;base64,AAAAIGZ0eXBpc29t"],
    ["javascript", "javascript:alert(1)"],
    ["credentials in the URL", "https://user:secret@media.example.com/video.mp4"],
  ])("%s: %s", async (_, url) => {
    const t = await importer();
    const res = await t.start({ url, title: "Nope" });
    expect(res.status).toBe(400);
    const { error } = (await res.json()) as {
      error: { code: string; details: { path: string; message: string }[]; requestId: string };
    };
    expect(error.code).toBe("validation_error");
    expect(error.details).toEqual([{ path: "url", message: expect.any(String) }]);
    expect(error.requestId).toBeTruthy();
    expect(t.imports.sent).toEqual([]);
    expect(await testDb().select().from(videos).where(eq(videos.ownerId, t.user.id)).all()).toEqual([]);
  });
});

describe("redirects are checked at every hop", () => {
  it.each([
    ["127.0.0.1", (key: string) => `http://127.0.0.1:${port}/video.mp4?key=${key}`, /loopback address/],
    ["[::1]", (key: string) => `http://[::1]:${port}/video.mp4?key=${key}`, /loopback address/],
    ["localhost", (key: string) => `http://localhost:${port}/video.mp4?key=${key}`, /this machine/],
    ["169.254.169.254", () => "http://169.254.169.254/latest/meta-data/", /link-local address/],
    ["file://", () => "file:///etc/passwd", /not file/],
  ])("fails an import whose public URL redirects to %s, never asking it", async (_, target, reason) => {
    const t = await importer();
    const key = seriesKey();
    const hop = seriesKey();
    const url = publicOriginUrl(`/redirect?key=${hop}&to=${encodeURIComponent(target(key))}`);
    const video = await t.importUrl(url);
    expect(video.status).toBe("failed");
    expect(video.error?.code).toBe("import_failed");
    expect(video.error?.message).toMatch(/^The URL cannot be imported: It redirected to /);
    expect(video.error?.message).toMatch(reason);
    expect(await originRequests(hop)).toHaveLength(1);
    expect(await originRequests(key)).toEqual([]);
  });

  it("fails an import that redirects more than 5 times", async () => {
    const t = await importer();
    const video = await t.importUrl(publicOriginUrl("/loop?n=0"));
    expect(video.error).toEqual({
      code: "import_failed",
      message: "The URL cannot be imported: It redirected more than 5 times",
    });
  });

  it("refuses the first hop again when the run's setting no longer allows it", async () => {
    // Created where private hosts were allowed; fetched where they are not.
    const allowed = await importer({ IMPORT_ALLOW_PRIVATE_HOSTS: "true" });
    const res = await allowed.start({ url: originUrl("/video.mp4"), title: "Was allowed" });
    expect(res.status).toBe(202);
    const strict = await importer();
    strict.imports.sent.push(...allowed.imports.sent);
    await strict.drain();
    const { id } = (await res.json()) as { id: string };
    expect((await allowed.video(id)).error?.message).toMatch(/^The URL cannot be imported: 127\.0\.0\.1 is a loopback/);
  });
});

describe("an import's upload session", () => {
  it("takes no bytes through tus: its PATCH and HEAD are 404", async () => {
    const t = await importer();
    const res = await t.start({ url: publicOriginUrl("/video.mp4"), title: "Fetched by the Worker" });
    const { id } = (await res.json()) as { id: string };
    const patch = await callApp(`/api/uploads/${id}`, {
      method: "PATCH",
      headers: {
        ...t.user.auth,
        ...TUS,
        "content-type": "application/offset+octet-stream",
        "upload-offset": "0",
      },
      body: new Uint8Array(16),
    });
    expect(patch.status).toBe(404);
    const head = await callApp(`/api/uploads/${id}`, { method: "HEAD", headers: { ...t.user.auth, ...TUS } });
    expect(head.status).toBe(404);
  });
});

describe("IMPORT_ALLOW_PRIVATE_HOSTS", () => {
  it("is off by default and refused outside development", () => {
    expect(loadSettings({}).imports.allowPrivateHosts).toBe(false);
    expect(loadSettings({ IMPORT_ALLOW_PRIVATE_HOSTS: "true" }).imports.allowPrivateHosts).toBe(true);
    for (const ENVIRONMENT of ["staging", "production"]) {
      const env = {
        ENVIRONMENT,
        IMPORT_ALLOW_PRIVATE_HOSTS: "true",
        JOB_TOKEN_SECRET: "s",
        PLAYBACK_SIGNING_KEYS: "k:s",
      };
      expect(() => loadSettings(env)).toThrow(/IMPORT_ALLOW_PRIVATE_HOSTS is for development only/);
    }
  });
});
