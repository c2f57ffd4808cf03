/**
 * What viewers and embedders get, against the platform as `npm start` runs it, in headless
 * Chromium: captions PUT to a really transcoded video show as `textTracks` cues at their times in
 * dash.js (through the watch page's captions menu) and in hls.js, all through the platform's own
 * /v/ URLs; the embed page plays inside an iframe on another origin; the watch page shows
 * storyboard previews, from the storyboard the encode made, when the pointer is over its seek bar.
 * The MP4 download the encode made from the stored segments plays in a <video> element and
 * ffprobe finds video and audio of the video's duration. Screenshots land in test-results/viewer/.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type StaticServer, startStaticServer } from "../players/static-server.ts";
import { type Account, signUp } from "../support/platform.ts";
import { ensureFixtures, fixture } from "../transcoder/fixtures.ts";
import { type VideoState, waitForVideo } from "./api.ts";
import { launchBrowser, localOnlyContext } from "./browser.ts";

const api = inject("apiUrl");
const artefacts = join(import.meta.dirname, "..", "..", "test-results", "viewer");
const work = mkdtempSync(join(tmpdir(), "streambuddy-e2e-viewer-"));

const ENGLISH = `WEBVTT

00:00:01.000 --> 00:00:02.500
Hello from the first cue

00:00:04.000 --> 00:00:06.250
The second cue
`;

interface SeenCue {
  start: number;
  end: number;
  text: string;
}

const expectEnglishCues = (cues: SeenCue[]) => {
  expect(cues.map((c) => c.text)).toEqual(["Hello from the first cue", "The second cue"]);
  expect(cues[0]?.start).toBeCloseTo(1, 2);
  expect(cues[0]?.end).toBeCloseTo(2.5, 2);
  expect(cues[1]?.start).toBeCloseTo(4, 2);
  expect(cues[1]?.end).toBeCloseTo(6.25, 2);
};

/** In the page: the cues of the first text track in `lang` that has any, once it has them. */
const waitForCues = (page: Page, lang: string) =>
  page.waitForFunction(
    (l) => {
      const video = document.querySelector("video");
      const track = [...(video?.textTracks ?? [])].find((t) => t.language === l && (t.cues?.length ?? 0) >= 2);
      return track?.cues
        ? [...track.cues].map((c) => ({ start: c.startTime, end: c.endTime, text: (c as VTTCue).text }))
        : null;
    },
    lang,
    { timeout: 60_000, polling: 200 },
  );

/** The served version of a video, as its MPD names the folder. */
async function servedVersion(videoId: string): Promise<string> {
  const mpd = await (await fetch(`${api}/v/${videoId}/manifest.mpd`)).text();
  const version = /<BaseURL>([^<]+)\/<\/BaseURL>/.exec(mpd)?.[1];
  if (!version) throw new Error("no version in the MPD");
  return version;
}

describe("viewers and embedders", () => {
  let browser: Browser;
  let owner: Account;
  let video: VideoState & { slug: string; duration: number };

  beforeAll(async () => {
    ensureFixtures("quick");
    mkdirSync(artefacts, { recursive: true });
    owner = await signUp(api);
    const form = new FormData();
    form.append("title", "Viewer features");
    form.append("max_resolution", "480p");
    form.append("file", new Blob([readFileSync(fixture("small-720p.mp4"))], { type: "video/mp4" }), "clip.mp4");
    const res = await fetch(`${api}/api/videos/upload/`, { method: "POST", headers: owner.auth, body: form });
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };
    const seen = await waitForVideo(api, owner, id, (v) => v.status === "ready" || v.status === "failed");
    video = seen.at(-1) as typeof video;
    expect(video.status).toBe("ready");

    const put = await fetch(`${api}/api/videos/${id}/captions/en/`, {
      method: "PUT",
      headers: { ...owner.auth, "content-type": "text/vtt" },
      body: ENGLISH,
    });
    expect(put.status).toBe(201);
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    rmSync(work, { recursive: true, force: true });
  });

  // A second go in a fresh page: once in a while (in full runs only) dash.js has not applied a
  // captions choice made the moment the menu appears; player.js now sets the track directly once
  // dash.js has its text tracks, and this keeps a rare miss from hiding everything else.
  it("shows the cues in dash.js through the watch page's captions menu", { retry: 1 }, async () => {
    const { context, blocked } = await localOnlyContext(browser);
    const page = await context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    const captionRequests: string[] = [];
    page.on("request", (req) => {
      if (req.url().includes("captions_")) captionRequests.push(new URL(req.url()).pathname);
    });
    await page.goto(`${api}/watch?v=${video.slug}`);
    const menu = page.getByLabel("Captions");
    await menu.waitFor({ state: "visible", timeout: 60_000 });
    expect(await page.locator("#captions option").allTextContents()).toEqual(["Off", "English"]);
    await menu.selectOption({ label: "English" });
    expectEnglishCues((await (await waitForCues(page, "en")).jsonValue()) as SeenCue[]);
    expect(captionRequests).toContain(`/v/${video.id}/captions_en.vtt`);
    await page.waitForFunction(() => (document.querySelector("video")?.currentTime ?? 0) > 1.5, null, {
      timeout: 60_000,
    });
    await page.screenshot({ path: join(artefacts, "watch-captions.png") });
    expect(errors).toEqual([]);
    expect(blocked).toEqual([]);
    await context.close();
  });

  it("shows the cues in hls.js from the platform's HLS master", async () => {
    const { context, blocked } = await localOnlyContext(browser);
    const page = await context.newPage();
    const playlists: string[] = [];
    page.on("request", (req) => {
      if (req.url().endsWith(".m3u8")) playlists.push(new URL(req.url()).pathname);
    });
    await page.goto(`${api}/`);
    await page.addScriptTag({
      type: "module",
      content: 'import Hls from "/vendor/hls.js/hls.min.mjs"; window.sbHls = Hls;',
    });
    await page.waitForFunction(() => "sbHls" in window);
    const tracks = await page.evaluate(async (src) => {
      const Hls = (window as unknown as { sbHls: new () => never }).sbHls as unknown as {
        new (): {
          loadSource(s: string): void;
          attachMedia(v: HTMLVideoElement): void;
          on(e: string, f: () => void): void;
          subtitleTracks: { lang: string; name: string }[];
          subtitleTrack: number;
          subtitleDisplay: boolean;
        };
        Events: { MANIFEST_PARSED: string };
      };
      const video = document.createElement("video");
      video.muted = true;
      document.body.replaceChildren(video);
      const hls = new Hls();
      hls.loadSource(src);
      hls.attachMedia(video);
      await new Promise<void>((resolve) => hls.on(Hls.Events.MANIFEST_PARSED, resolve));
      hls.subtitleTrack = hls.subtitleTracks.findIndex((t) => t.lang === "en");
      hls.subtitleDisplay = true;
      void video.play();
      return hls.subtitleTracks.map((t) => ({ lang: t.lang, name: t.name }));
    }, `${api}/v/${video.id}/master.m3u8`);
    expect(tracks).toEqual([{ lang: "en", name: "English" }]);
    expectEnglishCues((await (await waitForCues(page, "en")).jsonValue()) as SeenCue[]);
    expect(playlists).toContain(`/v/${video.id}/captions_en.m3u8`);
    expect(blocked).toEqual([]);
    await context.close();
  });

  it("plays the embed page inside an iframe on another origin", async () => {
    const host: StaticServer = await startStaticServer(work);
    try {
      // Another port is another origin.
      expect(new URL(host.url).origin).not.toBe(new URL(api).origin);
      host.route("/blog.html", {
        body: `<!doctype html><title>A blog</title><h1>A blog post</h1>
<iframe id="player" src="${api}/embed/${video.id}?autoplay=1&muted=1&start=2" width="640" height="400" allow="autoplay; fullscreen"></iframe>`,
        type: "text/html; charset=utf-8",
      });
      const { context, blocked } = await localOnlyContext(browser);
      const page = await context.newPage();
      await page.goto(`${host.url}/blog.html`);
      const frame = await (await page.waitForSelector("#player")).contentFrame();
      if (!frame) throw new Error("no embed frame");
      await frame.waitForFunction(() => (document.querySelector("video")?.currentTime ?? 0) > 3, null, {
        timeout: 60_000,
      });
      expect(new URL(frame.url()).origin).toBe(new URL(api).origin);
      expect(await frame.locator("#captions option").allTextContents()).toEqual(["Off", "English"]);
      expect(await frame.locator("#quality option").allTextContents()).toEqual(["Auto", "480p"]);
      expect(await frame.locator(".embed-title").textContent()).toBe("Viewer features");
      await page.screenshot({ path: join(artefacts, "embed-in-blog.png") });
      expect(blocked).toEqual([]);
      await context.close();
    } finally {
      await host.close();
    }
  });

  it("previews the storyboard's frame under the pointer on the watch page's seek bar", async () => {
    // The encode made it: 10 s at a frame every 2 s, tiles 160 wide at the 480p rung's shape.
    const duration = video.duration;
    const layout = { interval: 2, tileWidth: 160, tileHeight: 90, columns: 10 };
    const version = await servedVersion(video.id);
    const index = await (await fetch(`${api}/v/${video.id}/storyboard.vtt`)).text();
    expect(index).toMatch(/^WEBVTT/);
    expect(index).toContain(`00:00:04.000 --> 00:00:06.000\n${version}/storyboard-0.jpg#xywh=320,0,160,90`);
    const json = (await (await fetch(`${api}/api/videos/${video.id}/`)).json()) as { storyboard_url: string | null };
    expect(json.storyboard_url).toBe(`${api}/v/${video.id}/storyboard.vtt`);
    const thumb = await fetch(`${api}/v/${video.id}/thumbnail.jpg?time=5&width=320`);
    expect(thumb.status).toBe(200);
    expect(thumb.headers.get("content-type")).toBe("image/jpeg");

    const { context, blocked } = await localOnlyContext(browser);
    const page = await context.newPage();
    await page.goto(`${api}/watch?v=${video.slug}`);
    const seek = page.locator("#seek");
    await page.waitForFunction(() => Number(document.querySelector("#seek")?.getAttribute("aria-valuemax")) > 0, null, {
      timeout: 60_000,
    });
    expect(await seek.getAttribute("data-previews")).toBe(String(Math.ceil(duration / layout.interval)));
    // The pointer at 55% of the bar is 5.5 s into the video: frame 2 (4–6 s), the third tile.
    const box = await seek.boundingBox();
    if (!box) throw new Error("no seek bar");
    await page.mouse.move(box.x + box.width * 0.55, box.y + box.height / 2);
    const preview = page.locator(".seek-preview");
    await preview.waitFor({ state: "visible" });
    const frame = page.locator(".seek-frame");
    const tile = layout.tileWidth;
    expect(await frame.getAttribute("data-xywh")).toBe(`${2 * tile},0,${tile},${layout.tileHeight}`);
    expect(await frame.getAttribute("data-sheet")).toBe(`${api}/v/${video.id}/${version}/storyboard-0.jpg`);
    expect(await page.locator(".seek-time").textContent()).toBe("0:06");
    // The sheet really loads, and the preview shows it cropped to the tile.
    const shown = await frame.evaluate((el) => {
      const style = getComputedStyle(el);
      return { image: style.backgroundImage, position: style.backgroundPosition, width: style.width };
    });
    expect(shown).toEqual({
      image: `url("${api}/v/${video.id}/${version}/storyboard-0.jpg")`,
      position: `-${2 * tile}px 0px`,
      width: `${tile}px`,
    });
    const sheet = await page.evaluate(
      (url) =>
        new Promise<number>((resolve) => {
          const img = new Image();
          img.onload = () => resolve(img.naturalWidth);
          img.onerror = () => resolve(0);
          img.src = url;
        }),
      `${api}/v/${video.id}/${version}/storyboard-0.jpg`,
    );
    expect(sheet).toBe(tile * layout.columns);
    // The preview sits over the seek bar, at the pointer.
    const at = await preview.boundingBox();
    if (!at) throw new Error("no preview box");
    const pointer = box.x + box.width * 0.55;
    expect(at.y + at.height).toBeLessThanOrEqual(box.y + 1);
    expect(at.x).toBeLessThanOrEqual(pointer);
    expect(at.x + at.width).toBeGreaterThanOrEqual(pointer);
    await page.screenshot({ path: join(artefacts, "watch-storyboard-hover.png") });
    await page.mouse.move(box.x + box.width * 0.55, box.y + box.height + 200);
    await preview.waitFor({ state: "hidden" });
    expect(blocked).toEqual([]);
    await context.close();
  });

  it("offers the MP4 the encode made from the stored segments as a download that plays, with video and audio of the video's length, and the M4A", async () => {
    const dir = join(work, "download");
    mkdirSync(dir, { recursive: true });
    const url = `${api}/v/${video.id}/download/480p.mp4`;
    expect((await fetch(url)).status).toBe(404);
    const patch = await fetch(`${api}/api/videos/${video.id}/`, {
      method: "PATCH",
      headers: { ...owner.auth, "content-type": "application/json" },
      body: JSON.stringify({ downloadable: true }),
    });
    expect(((await patch.json()) as { downloadable: boolean }).downloadable).toBe(true);
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("video/mp4");
    expect(res.headers.get("content-disposition")).toBe(`attachment; filename="${video.slug}-480p.mp4"`);
    const downloaded = join(dir, "downloaded.mp4");
    writeFileSync(downloaded, Buffer.from(await res.arrayBuffer()));
    const probe = JSON.parse(
      execFileSync(
        "ffprobe",
        ["-v", "error", "-show_entries", "stream=codec_type,duration:format=duration", "-of", "json", downloaded],
        { encoding: "utf8" },
      ),
    ) as { streams: { codec_type: string; duration: string }[]; format: { duration: string } };
    expect(probe.streams.map((st) => st.codec_type).sort()).toEqual(["audio", "video"]);
    for (const stream of probe.streams) expect(Math.abs(Number(stream.duration) - video.duration)).toBeLessThan(0.1);
    expect(Math.abs(Number(probe.format.duration) - video.duration)).toBeLessThan(0.1);

    const m4a = await fetch(`${api}/v/${video.id}/download/audio.m4a`, { headers: { range: "bytes=0-99" } });
    expect(m4a.status).toBe(206);
    expect(m4a.headers.get("content-type")).toBe("audio/mp4");
    expect(m4a.headers.get("content-disposition")).toBe(`attachment; filename="${video.slug}-audio.m4a"`);
    expect(Buffer.from(await m4a.arrayBuffer()).toString("latin1", 4, 8)).toBe("ftyp");

    const { context, blocked } = await localOnlyContext(browser);
    const page = await context.newPage();
    await page.goto(`${api}/watch?v=${video.slug}`);
    const link = page.getByRole("link", { name: "480p MP4" });
    await link.waitFor({ timeout: 30_000 });
    expect(await link.getAttribute("href")).toBe(url);
    await page.evaluate((src) => {
      const player = document.createElement("video");
      player.id = "download";
      player.muted = true;
      player.src = src;
      document.body.append(player);
      void player.play();
    }, url);
    await page.waitForFunction(
      () => (document.querySelector<HTMLVideoElement>("#download")?.currentTime ?? 0) > 2,
      null,
      { timeout: 30_000 },
    );
    expect(await page.locator("#download").evaluate((v: HTMLVideoElement) => v.videoHeight)).toBe(480);
    expect(blocked).toEqual([]);
    await context.close();
  });

  it("lets the owner add and remove captions, pick the poster's frame and turn downloads off in My videos", async () => {
    const user = await (await fetch(`${api}/api/auth/user/`, { headers: owner.auth })).json();
    const { context, blocked } = await localOnlyContext(browser);
    // Signed in as the owner, as the log-in page leaves the browser.
    await context.addInitScript(
      (session) => localStorage.setItem("streambuddy.session", session),
      JSON.stringify({ key: owner.key, user }),
    );
    const page = await context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`${api}/mine`);
    const row = page.locator(".video-row", { hasText: "Viewer features" });
    await row.getByRole("button", { name: "Captions (1)" }).click();
    const dialog = page.getByRole("dialog", { name: "Captions" });
    await expect.poll(() => dialog.locator("#caption-list li").allTextContents()).toEqual(["English (en)Remove"]);

    const srt = join(work, "deutsch.srt");
    writeFileSync(srt, "1\n00:00:01,000 --> 00:00:02,000\nHallo\n\n2\n00:00:03,000 -> 00:00:04,000\nkaputt\n");
    await dialog.getByLabel("Language tag").fill("de");
    await dialog.getByLabel("Label (optional)").fill("Deutsch");
    await dialog.getByLabel("WebVTT or SRT file").setInputFiles(srt);
    await dialog.getByRole("button", { name: "Add captions" }).click();
    await expect.poll(() => dialog.locator("#caption-error").textContent()).toMatch(/line 6: /);
    writeFileSync(srt, "1\n00:00:01,000 --> 00:00:02,000\nHallo\n");
    await dialog.getByLabel("WebVTT or SRT file").setInputFiles(srt);
    await dialog.getByRole("button", { name: "Add captions" }).click();
    await expect
      .poll(() => dialog.locator("#caption-list li").allTextContents())
      .toEqual(["Deutsch (de)Remove", "English (en)Remove"]);
    await page.screenshot({ path: join(artefacts, "my-videos-captions.png") });
    await dialog.getByRole("button", { name: "Remove Deutsch captions" }).click();
    await expect.poll(() => dialog.locator("#caption-list li").allTextContents()).toEqual(["English (en)Remove"]);
    await dialog.getByRole("button", { name: "Close" }).click();

    await row.getByRole("button", { name: "Edit" }).click();
    const edit = page.getByRole("dialog", { name: "Edit video" });
    const downloads = edit.getByLabel(/Viewers may download it/);
    expect(await downloads.isChecked()).toBe(true);
    await downloads.uncheck();
    await edit.getByLabel("Frame at (seconds)").fill("4");
    await expect
      .poll(() => edit.locator("#edit-poster-preview").getAttribute("src"))
      .toBe(`${api}/v/${video.id}/thumbnail.jpg?time=4&width=320`);
    await expect
      .poll(() => edit.locator("#edit-poster-preview").evaluate((img: HTMLImageElement) => img.naturalWidth))
      .toBe(320);
    await edit.getByRole("button", { name: "Save" }).click();
    await expect.poll(() => edit.isVisible()).toBe(false);
    await expect
      .poll(() => row.locator("img").getAttribute("src"))
      .toBe(`${api}/v/${video.id}/thumbnail.jpg?time=4&width=640`);
    const after = (await (await fetch(`${api}/api/videos/${video.id}/`)).json()) as {
      downloadable: boolean;
      poster_time: number;
      captions: { lang: string }[];
    };
    expect(after).toMatchObject({ downloadable: false, poster_time: 4, captions: [{ lang: "en" }] });
    expect((await fetch(`${api}/v/${video.id}/download/480p.mp4`)).status).toBe(404);
    expect(errors).toEqual([]);
    expect(blocked).toEqual([]);
    await context.close();
  });
});
