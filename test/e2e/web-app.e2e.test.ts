/**
 * The web app in headless Chromium, against the platform as `npm start` runs it: sign up, upload
 * through the page (progress to 100%, then the processing progress), watch with a quality switch,
 * the library, an upload that survives the network going away, and My videos (paging, edit,
 * delete, log out). Every page is loaded with third-party requests blocked and recorded.
 * Screenshots land in test-results/web-app/.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { launchBrowser, localOnlyContext } from "./browser.ts";

const api = inject("apiUrl");
const root = join(import.meta.dirname, "..", "..");
const fixtures = join(root, "test", "fixtures", ".cache");
const artefacts = join(root, "test-results", "web-app");
const SMALL = join(fixtures, "small-720p.mp4");
/** About 30 MiB, 5 s of noise at 360p: big enough for many 1 MiB PATCHes, cheap to transcode. */
const LARGE = join(fixtures, "upload-noise-30mib.mp4");
const PASSWORD = "correct horse battery";
const suffix = Date.now().toString(36);
const username = `viewer_${suffix}`;
const smallTitle = `Test pattern ${suffix}`;

function makeFixtures() {
  execFileSync("bash", [join(root, "scripts", "make-fixtures.sh"), fixtures, "quick"], { stdio: "inherit" });
  if (!existsSync(LARGE)) {
    execFileSync("ffmpeg", [
      ...["-hide_banner", "-loglevel", "error", "-y"],
      ...["-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30:duration=5,noise=alls=30:allf=t"],
      ...["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=5"],
      ...["-ac", "2", "-c:v", "libx264", "-preset", "ultrafast", "-crf", "10", "-pix_fmt", "yuv420p"],
      ...["-c:a", "aac", "-shortest", LARGE],
    ]);
  }
}

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

interface Session {
  context: BrowserContext;
  page: Page;
  blocked: string[];
  errors: string[];
}

describe("web app", () => {
  let browser: Browser;
  let videoSlug = "";
  /** The upload page of the first test, followed by the second until the video is ready. */
  let uploadSession: Session;
  const processingSeen: string[] = [];
  const sessions: Session[] = [];

  /** A fresh browser context that refuses third-party requests and records page errors. */
  async function open(viewport = { width: 1280, height: 900 }): Promise<Session> {
    const { context, blocked } = await localOnlyContext(browser);
    const page = await context.newPage();
    await page.setViewportSize(viewport);
    const errors: string[] = [];
    page.on("pageerror", (err) => errors.push(err.message));
    const session = { context, page, blocked, errors };
    sessions.push(session);
    return session;
  }

  async function done({ context, blocked, errors }: Session) {
    expect(blocked, "third-party requests").toEqual([]);
    expect(errors, "uncaught page errors").toEqual([]);
    await context.close();
  }

  /** Submits an account form and waits for where it leads, or fails with the form's message. */
  async function submitAccountForm(page: Page, button: string, destination: RegExp) {
    await page.getByRole("button", { name: button }).click();
    const formError = page.locator("#form-error:not(:empty)");
    const arrived = page.waitForURL(destination).then(() => null);
    arrived.catch(() => {});
    const refused = formError.waitFor().then(
      async () => `${button} failed: ${await formError.textContent()}`,
      () => null,
    );
    const problem = await Promise.race([arrived, refused]);
    if (problem) throw new Error(problem);
    await arrived;
  }

  async function logIn(page: Page) {
    await page.goto(`${api}/login`);
    await page.getByLabel("Username or email").fill(username);
    await page.getByLabel("Password").fill(PASSWORD);
    await submitAccountForm(page, "Log in", /\/mine/);
  }

  const storedKey = (page: Page) =>
    page.evaluate(() => JSON.parse(localStorage.getItem("streambuddy.session") ?? "{}").key as string);

  beforeAll(async () => {
    makeFixtures();
    mkdirSync(artefacts, { recursive: true });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    for (const { context } of sessions) await context.close().catch(() => {});
    await browser?.close();
  });

  it("signs up, uploads with a progress bar reaching 100%, then shows the processing", async () => {
    uploadSession = await open();
    const { page } = uploadSession;
    await page.goto(`${api}/`);
    await page.getByRole("link", { name: "Sign up" }).click();
    await page.getByLabel("Username").fill(username);
    await page.getByLabel("Email").fill(`${username}@example.com`);
    await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
    await page.getByLabel("Password again").fill(`${PASSWORD}!`);
    await page.getByRole("button", { name: "Sign up" }).click();
    await expect.poll(() => page.locator("#password2-error").textContent()).toMatch(/match/i);

    await page.getByLabel("Password again").fill(PASSWORD);
    await submitAccountForm(page, "Sign up", /\/upload/);
    expect(await page.locator("[data-account]").textContent()).toContain(username);
    const key = await storedKey(page);
    expect(key).toMatch(/^[0-9a-f]{32,}$/i);

    // A file that is not a video is turned down before anything is sent.
    await page.locator("#file").setInputFiles(join(fixtures, "not-a-video.mp4"));
    await expect.poll(() => page.locator("#file-error").textContent()).toMatch(/is not a video/);
    await page.getByRole("button", { name: "Upload", exact: true }).click();
    expect(await page.locator("#transfer").isVisible()).toBe(false);

    await page.locator("#file").setInputFiles(SMALL);
    await expect.poll(() => page.getByLabel("Title").inputValue()).toBe("small-720p");
    expect(await page.locator("#file-error").textContent()).toBe("");
    await page.getByLabel("Title").fill(smallTitle);
    await page.getByLabel("Description").fill("Colour bars and a tone,\nfor testing.");
    const creations: string[] = [];
    page.on("request", (req) => {
      if (req.method() === "POST" && req.url().includes("/api/uploads")) creations.push(req.url());
    });
    await page.getByRole("button", { name: "Upload", exact: true }).click();

    await page.locator('#transfer[data-state="done"]').waitFor({ timeout: 60_000 });
    expect(await page.locator("#upload-progress").getAttribute("data-percent")).toBe("100");
    expect(await page.locator("#upload-bytes").textContent()).toMatch(/4\.4 MiB of 4\.4 MiB \(100%\)/);
    expect(creations).toHaveLength(1);
    // No key in any URL the page requested.
    expect(creations.join(" ")).not.toContain(key);

    // The processing display appears at once, before the video can be ready.
    await page.locator("#processing").waitFor({ state: "visible" });
    await expect.poll(() => page.locator("#processing").getAttribute("data-status")).toMatch(/^(queued|processing)$/);
    processingSeen.push((await page.locator("#processing-status").textContent()) ?? "");
    expect(processingSeen[0]).toMatch(/^(Queued: waiting for a transcoder…|Processing: \d+%)$/);
    await page.screenshot({ path: join(artefacts, "upload-processing.png"), fullPage: true });
  });

  it("follows the processing on the upload page until the video is ready", async () => {
    const { page } = uploadSession;
    const processing = page.locator("#processing");
    const deadline = Date.now() + 180_000;
    for (;;) {
      const status = (await processing.getAttribute("data-status")) ?? "";
      const text = (await page.locator("#processing-status").textContent()) ?? "";
      if (processingSeen.at(-1) !== text) processingSeen.push(text);
      if (status === "ready" || status === "failed") break;
      if (Date.now() > deadline) throw new Error(`not ready in time; the page showed: ${processingSeen.join(" | ")}`);
      await page.waitForTimeout(200);
    }
    await page.screenshot({ path: join(artefacts, "upload-ready.png"), fullPage: true });
    expect(
      await processing.getAttribute("data-status"),
      (await page.locator("#processing-error").textContent()) ?? "",
    ).toBe("ready");
    expect(processingSeen.at(-1)).toBe("Ready to watch.");
    // On the way it showed the encode's progress as a percentage.
    expect(
      processingSeen.some((text) => /^Processing: \d+%$/.test(text)),
      processingSeen.join(" | "),
    ).toBe(true);
    await page.getByRole("link", { name: "Watch it" }).click();
    await page.waitForURL(/\/watch\?v=/);
    videoSlug = new URL(page.url()).searchParams.get("v") ?? "";
    expect(videoSlug).not.toBe("");
    await done(uploadSession);
  });

  it("plays the video past 5 s and switches to the lowest rung from the quality menu", async () => {
    expect(videoSlug, "needs the ready video of the previous test").not.toBe("");
    const session = await open();
    const { page } = session;
    await page.goto(`${api}/watch.html?v=${encodeURIComponent(videoSlug)}`);
    await expect.poll(() => page.locator("h1").textContent()).toBe(smallTitle);
    expect(await page.locator("#description").textContent()).toBe("Colour bars and a tone,\nfor testing.");
    expect(await page.locator("video").getAttribute("poster")).toMatch(/\/poster\.jpg$/);

    const video = page.locator("video");
    await page.waitForFunction(() => (document.querySelector("video")?.currentTime ?? 0) > 5, null, {
      timeout: 60_000,
    });
    await page.screenshot({ path: join(artefacts, "watch.png") });
    const options = await page.locator("#quality option").allTextContents();
    expect(options).toEqual(["Auto", "720p", "480p"]);
    expect(await page.locator("#current-quality").textContent()).toMatch(/^Auto: playing (720|480)p$/);

    const height = () => video.evaluate((v: HTMLVideoElement) => v.videoHeight);
    /** Chooses a rung and waits until the picture has that height (rewinding if the end comes first). */
    async function choose(label: string, expected: number) {
      await page.getByLabel("Quality").selectOption({ label });
      await expect
        .poll(
          async () =>
            video.evaluate((v: HTMLVideoElement) => {
              if (v.ended) {
                v.currentTime = 0;
                v.play();
              }
              return v.videoHeight;
            }),
          { timeout: 30_000, interval: 250 },
        )
        .toBe(expected);
      await expect.poll(() => page.locator("#current-quality").textContent()).toBe(`Playing ${label}`);
    }
    if ((await height()) === 480) await choose("720p", 720);
    const before = await height();
    await choose("480p", 480);
    expect(await height()).not.toBe(before);
    await page.screenshot({ path: join(artefacts, "watch-480p.png") });

    // The same page on a phone.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: join(artefacts, "watch-phone.png"), fullPage: true });
    await done(session);
  });

  it("hands the HLS playlist to the <video> element where Media Source Extensions are missing", async () => {
    const session = await open();
    const { page } = session;
    // As on an iPhone: no MSE, native HLS.
    await page.addInitScript(() => {
      const w = window as unknown as Record<string, unknown>;
      delete w.MediaSource;
      delete w.ManagedMediaSource;
      const canPlayType = HTMLMediaElement.prototype.canPlayType;
      HTMLMediaElement.prototype.canPlayType = function (type: string) {
        return /mpegurl/i.test(type) ? "maybe" : canPlayType.call(this, type);
      };
    });
    const scripts: string[] = [];
    page.on("request", (req) => {
      if (req.url().includes("/vendor/")) scripts.push(req.url());
    });
    await page.goto(`${api}/watch?v=${encodeURIComponent(videoSlug)}`);
    await expect
      .poll(async () => (await page.locator("video").getAttribute("src")) ?? "")
      .toMatch(/\/v\/[^/]+\/master\.m3u8$/);
    expect(await page.locator("#player-bar").isVisible()).toBe(false);
    expect(scripts).toEqual([]);
    await done(session);
  });

  it("lists the video in the library with poster, title and duration, and finds it by search", async () => {
    const session = await open();
    const { page } = session;
    await page.goto(`${api}/`);
    const card = page.locator(".card", { hasText: smallTitle });
    await card.waitFor();
    // The duration badge reads "Duration 0:10" to screen readers and shows "0:10".
    expect((await card.locator(".duration").textContent())?.trim()).toBe("Duration 0:10");
    await expect
      .poll(() => card.locator("img").evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0))
      .toBe(true);
    await page.screenshot({ path: join(artefacts, "library.png"), fullPage: true });

    await page.getByLabel("Search videos by title").fill(suffix);
    await page.getByRole("button", { name: "Search" }).click();
    await page.waitForURL(/search=/);
    await expect.poll(() => page.locator(".card").count()).toBe(1);
    await page.getByLabel("Search videos by title").fill(`nothing-like-${suffix}`);
    await page.getByLabel("Search videos by title").press("Enter");
    await expect.poll(() => page.locator("#summary").textContent()).toMatch(/No videos match/);

    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${api}/`);
    await card.waitFor();
    await page.screenshot({ path: join(artefacts, "library-phone.png"), fullPage: true });

    // Keyboard: the skip link comes first, and the card is reachable as a link.
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe("Skip to content");
    await card.getByRole("link").focus();
    await page.keyboard.press("Enter");
    await page.waitForURL(/\/watch\?v=/);
    await done(session);
  });

  it("resumes an upload cut off by the network where it stopped, and stores it byte for byte", async () => {
    const session = await open();
    const { page, context } = session;
    await logIn(page);
    // Small chunks make many PATCH requests, so the network drops between and during them.
    await page.evaluate(() => localStorage.setItem("streambuddy.uploadChunkSize", String(1024 * 1024)));
    const patches: { offset: number; at: number }[] = [];
    let creations = 0;
    page.on("request", (req) => {
      if (!req.url().includes("/api/uploads")) return;
      if (req.method() === "POST") creations++;
      if (req.method() === "PATCH") patches.push({ offset: Number(req.headers()["upload-offset"]), at: Date.now() });
    });

    await page.goto(`${api}/upload`);
    await page.locator("#file").setInputFiles(LARGE);
    await page.getByLabel("Title").fill(`Interrupted ${suffix}`);
    await page.getByLabel("Visibility").selectOption("unlisted");
    await page.getByLabel("Highest quality").selectOption("480p");
    await page.getByRole("button", { name: "Upload", exact: true }).click();

    const percent = async () => Number(await page.locator("#upload-progress").getAttribute("data-percent"));
    await page.waitForFunction(
      () => Number(document.querySelector("#upload-progress")?.getAttribute("data-percent")) >= 15,
      null,
      { timeout: 60_000, polling: 20 },
    );
    await context.setOffline(true);
    const offlineAt = Date.now();
    await page.locator('#transfer[data-state="offline"]').waitFor({ timeout: 30_000 });
    expect(await page.locator("#upload-status").textContent()).toMatch(/Connection lost/);
    const stalledAt = await percent();
    expect(stalledAt).toBeLessThan(100);
    await page.waitForTimeout(3000);
    expect(await percent()).toBe(stalledAt);
    await page.screenshot({ path: join(artefacts, "upload-offline.png"), fullPage: true });

    await context.setOffline(false);
    const onlineAt = Date.now();
    await page.locator('#transfer[data-state="done"]').waitFor({ timeout: 120_000 });
    expect(await percent()).toBe(100);

    // One upload, continued: after the drop, PATCHes go on from a non-zero offset.
    expect(creations).toBe(1);
    const afterDrop = patches.filter((p) => p.at >= onlineAt);
    expect(afterDrop.length).toBeGreaterThan(0);
    expect(afterDrop[0]?.offset).toBeGreaterThan(0);
    expect(afterDrop.every((p) => p.offset > 0)).toBe(true);
    expect(patches.filter((p) => p.at < offlineAt).length).toBeGreaterThan(1);

    const videoId = await page.locator("#processing").getAttribute("data-video-id");
    const key = await storedKey(page);
    const res = await fetch(`${api}/api/videos/${videoId}/source/`, { headers: { Authorization: `Token ${key}` } });
    expect(res.status).toBe(200);
    const stored = new Uint8Array(await res.arrayBuffer());
    expect(stored.length).toBe(statSync(LARGE).size);
    expect(sha256(stored)).toBe(sha256(readFileSync(LARGE)));
    await done(session);
  });

  it("says why a video could not be processed", async () => {
    const session = await open();
    const { page } = session;
    await logIn(page);
    await page.goto(`${api}/upload`);
    await page.locator("#file").setInputFiles(join(fixtures, "truncated.mp4"));
    await page.getByLabel("Title").fill(`Broken ${suffix}`);
    await page.getByRole("button", { name: "Upload", exact: true }).click();
    await page.locator('#processing[data-status="failed"]').waitFor({ timeout: 120_000 });
    expect(await page.locator("#processing-status").textContent()).toBe("Processing failed.");
    expect(await page.locator("#processing-error").textContent()).toMatch(/incomplete or damaged/);
    expect(await page.getByRole("link", { name: "Watch it" }).isVisible()).toBe(false);
    await done(session);
  });

  it("lists my videos with status, pages them, edits, deletes, plays a private one for its owner, and logs out", async () => {
    const session = await open();
    const { page } = session;
    await logIn(page);
    await page.locator(".video-row").first().waitFor();
    expect(await page.locator(".video-row").count()).toBe(3);
    const interrupted = page.locator(".video-row", { hasText: `Interrupted ${suffix}` });
    expect(await interrupted.locator(".badge").allTextContents()).toContain("Unlisted");
    const broken = page.locator(".video-row", { hasText: `Broken ${suffix}` });
    expect(await broken.locator("[data-status]").textContent()).toBe("Failed");
    expect(await broken.locator(".error-text").textContent()).toMatch(/incomplete or damaged/);
    const ready = page.locator(".video-row", { hasText: smallTitle });
    expect(await ready.locator("[data-status]").textContent()).toBe("Ready");
    expect(await ready.locator(".meta").textContent()).toContain("720p, 480p");
    await page.screenshot({ path: join(artefacts, "my-videos.png"), fullPage: true });

    // Paging.
    await page.goto(`${api}/mine?page_size=2`);
    await expect.poll(() => page.locator("#page-info").textContent()).toBe("Page 1 of 2");
    expect(await page.locator(".video-row").count()).toBe(2);
    await page.getByRole("link", { name: "Next" }).click();
    await expect.poll(() => page.locator("#page-info").textContent()).toBe("Page 2 of 2");
    expect(await page.locator(".video-row").count()).toBe(1);

    // Edit: title and visibility through the dialog.
    await page.goto(`${api}/mine`);
    await interrupted.getByRole("button", { name: "Edit" }).click();
    const dialog = page.getByRole("dialog", { name: "Edit video" });
    await dialog.getByLabel("Title").fill("");
    await dialog.getByRole("button", { name: "Save" }).click();
    await expect.poll(() => dialog.locator("#edit-title-error").textContent()).not.toBe("");
    await dialog.getByLabel("Title").fill(`Renamed ${suffix}`);
    await dialog.getByLabel("Visibility").selectOption("private");
    await dialog.getByRole("button", { name: "Save" }).click();
    const renamed = page.locator(".video-row", { hasText: `Renamed ${suffix}` });
    await renamed.waitFor();
    expect(await renamed.locator(".badge").allTextContents()).toContain("Private");
    expect(await dialog.isVisible()).toBe(false);

    // Delete, after confirming.
    page.once("dialog", (d) => d.accept());
    await renamed.getByRole("button", { name: "Delete" }).click();
    await renamed.waitFor({ state: "detached" });
    await expect.poll(() => page.locator(".video-row").count()).toBe(2);
    const res = await fetch(`${api}/api/videos/?mine=1`, {
      headers: { Authorization: `Token ${await storedKey(page)}` },
    });
    expect(((await res.json()) as { count: number }).count).toBe(2);

    // Private: the owner still plays it, through the signed playback path; others see nothing.
    await ready.getByRole("button", { name: "Edit" }).click();
    await dialog.getByLabel("Visibility").selectOption("private");
    await dialog.getByRole("button", { name: "Save" }).click();
    await expect.poll(() => ready.locator(".badge").allTextContents()).toContain("Private");
    const manifests: string[] = [];
    page.on("request", (req) => {
      if (req.url().endsWith(".mpd")) manifests.push(req.url());
    });
    await ready.getByRole("link", { name: "Watch" }).click();
    await page.waitForFunction(() => (document.querySelector("video")?.currentTime ?? 0) > 1, null, {
      timeout: 30_000,
    });
    expect(manifests.length).toBeGreaterThan(0);
    expect(manifests.every((url) => /\/v\/[^/]+\/t\/[^/]+\/manifest\.mpd$/.test(url))).toBe(true);
    const stranger = await open();
    await stranger.page.goto(page.url());
    await expect.poll(() => stranger.page.locator("#error").textContent()).toMatch(/no such video, or it is private/);
    await done(stranger);
    await page.goto(`${api}/mine`);

    // Log out: the key is revoked and forgotten; My videos asks to log in.
    const key = await storedKey(page);
    await page.getByRole("button", { name: "Log out" }).click();
    await page.waitForURL(`${api}/`);
    expect(await page.evaluate(() => localStorage.getItem("streambuddy.session"))).toBeNull();
    expect((await fetch(`${api}/api/auth/user/`, { headers: { Authorization: `Token ${key}` } })).status).toBe(401);
    await page.goto(`${api}/mine`);
    await page.waitForURL(/\/login\?next=%2Fmine/);
    await done(session);
  });
});
