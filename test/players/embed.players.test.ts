/**
 * The embed page (worker/embed/embed-page.ts with public/app/embed.js and player.js) inside an
 * iframe on another origin, in headless Chromium: it plays from the requested start with the
 * quality and captions menus filled from the manifest, and the CSP's frame-ancestors keeps it
 * out of sites that are not allowed. A screenshot lands in test-results/players/.
 */
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Frame } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mpdWithCaptions } from "../../worker/captions/tracks.ts";
import {
  embedPageHtml,
  embedResponseHeaders,
  parseEmbedOptions,
  parseFrameAncestors,
} from "../../worker/embed/embed-page.ts";
import { launchBrowser, localOnlyContext } from "../e2e/browser.ts";
import { encodeFixture } from "../transcoder/encode-fixture.ts";
import { fixture } from "../transcoder/fixtures.ts";
import { type StaticServer, startStaticServer } from "./static-server.ts";

const VTT = "WEBVTT\n\n00:00:00.000 --> 00:00:09.000\nCaptions all along\n";

describe("embed page in a cross-origin iframe", () => {
  let dir: string;
  let player: StaticServer;
  let host: StaticServer;
  let browser: Browser;
  let allowedHost: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "streambuddy-embed-"));
    const encoded = await encodeFixture(fixture("small-720p.mp4"), dir, { maxHeight: 480 });
    player = await startStaticServer(dir);
    host = await startStaticServer(dir);
    // The same host server under another name is another origin, one that is not allowed.
    allowedHost = host.url.replace("127.0.0.1", "localhost");
    const ancestors = parseFrameAncestors(`${allowedHost}, https://blog.example`);
    if (!ancestors.ok) throw new Error(`bad ancestors ${ancestors.invalid}`);
    const mpd = mpdWithCaptions(await readFile(join(dir, "manifest.mpd"), "utf8"), [
      { lang: "en", label: "English", url: "/captions/en.vtt" },
    ]);
    player.route("/embed-manifest.mpd", { body: mpd, type: "application/dash+xml" });
    player.route("/captions/en.vtt", { body: VTT, type: "text/vtt; charset=utf-8" });
    player.route("/embed/vid1", (req) => {
      const options = parseEmbedOptions(new URL(req.url ?? "/", "http://x").searchParams);
      const page = embedPageHtml(
        {
          id: "vid1",
          title: "Test pattern",
          posterUrl: "/poster.jpg",
          dashUrl: "/embed-manifest.mpd",
          hlsUrl: "/master.m3u8",
          watchUrl: `${player.url}/watch?v=vid1`,
          duration: encoded.source.duration,
          captions: [{ lang: "en", label: "English" }],
        },
        options,
      );
      return { body: page, type: "text/html; charset=utf-8", headers: embedResponseHeaders(ancestors.sources) };
    });
    const hostPage = `<!doctype html><title>host</title><h1>A blog</h1>
<iframe id="embed" src="${player.url}/embed/vid1?autoplay=1&muted=1&start=3" width="640" height="400" allow="autoplay; fullscreen"></iframe>`;
    host.route("/host.html", { body: hostPage, type: "text/html; charset=utf-8" });
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await host?.close();
    await player?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const artefacts = join(import.meta.dirname, "..", "..", "test-results", "players");

  /** The embed frame of the host page at `origin`. */
  async function openHost(origin: string) {
    const { context, blocked } = await localOnlyContext(browser);
    const page = await context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(`${origin}/host.html`);
    const handle = await page.waitForSelector("#embed");
    const frame = (await handle.contentFrame()) as Frame;
    return { context, page, frame, blocked, errors };
  }

  it("plays muted from the start time with quality and captions menus, framed by an allowed site", async () => {
    const { context, page, frame, blocked, errors } = await openHost(allowedHost);
    await frame.waitForFunction(() => (document.querySelector("video") as HTMLVideoElement).currentTime > 3.5, null, {
      timeout: 60_000,
    });
    const state = await frame.evaluate(() => {
      const video = document.querySelector("video") as HTMLVideoElement;
      const options = (id: string) =>
        [...(document.getElementById(id) as HTMLSelectElement).options].map((o) => o.text);
      return {
        origin: location.origin,
        muted: video.muted,
        paused: video.paused,
        poster: video.getAttribute("poster"),
        quality: options("quality"),
        captions: options("captions"),
        barHidden: (document.getElementById("player-bar") as HTMLElement).hidden,
        header: document.querySelector("header, nav, footer") !== null,
      };
    });
    expect(state).toEqual({
      origin: player.url,
      muted: true,
      paused: false,
      poster: "/poster.jpg",
      quality: ["Auto", "480p"],
      captions: ["Off", "English"],
      barHidden: false,
      header: false,
    });
    // Choosing the captions track in the embed's own menu puts its cue on the video.
    await frame.selectOption("#captions", { label: "English" });
    const cue = await frame.waitForFunction(
      () => {
        const track = [...(document.querySelector("video") as HTMLVideoElement).textTracks].find(
          (t) => t.mode === "showing",
        );
        return (track?.cues?.[0] as VTTCue | undefined)?.text ?? null;
      },
      null,
      { timeout: 30_000 },
    );
    expect(await cue.jsonValue()).toBe("Captions all along");
    await mkdir(artefacts, { recursive: true });
    await page.screenshot({ path: join(artefacts, "embed-in-iframe.png") });
    expect(player.requests).toContain("/vendor/dashjs/dash.mediaplayer.min.js");
    expect(player.requests).toContain("/app/player.js");
    expect(errors).toEqual([]);
    expect(blocked).toEqual([]);
    await context.close();
  });

  it("is refused by the browser inside a site that frame-ancestors does not list", async () => {
    const requestsBefore = player.requests.length;
    const { context, frame } = await openHost(host.url);
    // Chromium replaces a frame its CSP forbids with an error page: no player, no player script.
    await frame.waitForLoadState("load");
    expect(await frame.evaluate(() => document.querySelector("video") !== null).catch(() => false)).toBe(false);
    expect(player.requests.slice(requestsBefore)).not.toContain("/app/embed.js");
    await context.close();
  });
});
