/**
 * Caption tracks as the Worker adds them to the stored manifests (worker/captions/tracks.ts),
 * played in headless Chromium by the deployment's vendored dash.js and hls.js over a real encode
 * of a fixture: the cues arrive in `video.textTracks` at the times the WebVTT file gives them.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  captionPlaylistName,
  hlsCaptionPlaylist,
  hlsMasterWithCaptions,
  mpdWithCaptions,
  vttWithTimestampMap,
} from "../../worker/captions/tracks.ts";
import { parseWebVtt } from "../../worker/captions/webvtt.ts";
import { launchBrowser, localOnlyContext } from "../e2e/browser.ts";
import { encodeFixture } from "../transcoder/encode-fixture.ts";
import { fixture } from "../transcoder/fixtures.ts";
import { type StaticServer, startStaticServer } from "./static-server.ts";

const ENGLISH = `WEBVTT

first
00:00:01.000 --> 00:00:02.500
Hello from the first cue

00:00:04.000 --> 00:00:06.250 align:start
The second cue
`;
const GERMAN = "WEBVTT\n\n00:00:00.500 --> 00:00:01.500\nHallo\n";

interface SeenCue {
  start: number;
  end: number;
  text: string;
}

/** The page's script: plays `src` with the given player and returns the cues of the chosen track. */
const PLAYER_PAGE = `<!doctype html><meta charset="utf-8"><title>players</title>
<video id="video" muted playsinline width="640" height="360"></video>
<script type="module">
const video = document.getElementById("video");
const until = (check) => new Promise((resolve) => { const t = setInterval(() => { const v = check(); if (v) { clearInterval(t); resolve(v); } }, 100); });
const cuesOf = (lang) => until(() => {
  const track = [...video.textTracks].find((t) => t.language === lang && t.cues && t.cues.length >= 1);
  return track && { label: track.label, kind: track.kind, cues: [...track.cues].map((c) => ({ start: c.startTime, end: c.endTime, text: c.text })) };
});
window.playDash = async (src, lang) => {
  const { MediaPlayer } = await import("/vendor/dashjs/dash.mediaplayer.min.js");
  const player = MediaPlayer().create();
  player.updateSettings({ streaming: { text: { defaultEnabled: true } } });
  player.initialize(video, src, true);
  player.setInitialMediaSettingsFor("text", { lang });
  await until(() => player.getTracksFor("text").length > 0);
  const tracks = player.getTracksFor("text").map((t) => ({ lang: t.lang, roles: (t.roles ?? []).map((r) => r.value ?? r), labels: (t.labels ?? []).map((l) => l.text ?? l) }));
  const chosen = player.getTracksFor("text").find((t) => t.lang === lang);
  player.setCurrentTrack(chosen);
  const seen = await cuesOf(lang);
  await until(() => video.currentTime > 1);
  return { tracks, ...seen };
};
window.playHls = async (src, lang) => {
  const { default: Hls } = await import("/vendor/hls.js/hls.min.mjs");
  const hls = new Hls();
  hls.loadSource(src);
  hls.attachMedia(video);
  await new Promise((resolve) => hls.on(Hls.Events.MANIFEST_PARSED, resolve));
  const tracks = hls.subtitleTracks.map((t) => ({ lang: t.lang, name: t.name }));
  hls.subtitleTrack = hls.subtitleTracks.findIndex((t) => t.lang === lang);
  hls.subtitleDisplay = true;
  video.play();
  const seen = await cuesOf(lang);
  await until(() => video.currentTime > 1);
  return { tracks, ...seen };
};
</script>`;

describe("captions in real players", () => {
  let dir: string;
  let server: StaticServer;
  let browser: Browser;
  let page: Page;
  let blocked: string[];
  let duration: number;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "streambuddy-captions-"));
    const encoded = await encodeFixture(fixture("small-720p.mp4"), dir, { maxHeight: 480 });
    duration = encoded.source.duration ?? 0;
    server = await startStaticServer(dir);
    const tracks = [
      { lang: "de", label: "Deutsch", vtt: GERMAN },
      { lang: "en", label: "English", vtt: ENGLISH },
    ];
    for (const t of tracks) {
      const parsed = parseWebVtt(t.vtt);
      if (!parsed.ok) throw new Error(parsed.message);
      // One file for both: the timestamp map hls.js and Apple's players read is a header line
      // that DASH players skip.
      server.route(`/captions/${t.lang}.vtt`, {
        body: vttWithTimestampMap(parsed.vtt, 0),
        type: "text/vtt; charset=utf-8",
      });
      server.route(`/${captionPlaylistName(t.lang)}`, {
        body: hlsCaptionPlaylist(`captions/${t.lang}.vtt`, duration),
        type: "application/vnd.apple.mpegurl",
      });
    }
    const mpd = await readFile(join(dir, "manifest.mpd"), "utf8");
    server.route("/with-captions.mpd", {
      body: mpdWithCaptions(
        mpd,
        tracks.map((t) => ({ lang: t.lang, label: t.label, url: `captions/${t.lang}.vtt` })),
      ),
      type: "application/dash+xml",
    });
    const master = await readFile(join(dir, "master.m3u8"), "utf8");
    server.route("/with-captions.m3u8", {
      body: hlsMasterWithCaptions(
        master,
        tracks.map((t) => ({ lang: t.lang, label: t.label, url: captionPlaylistName(t.lang) })),
      ),
      type: "application/vnd.apple.mpegurl",
    });
    server.route("/player.html", { body: PLAYER_PAGE, type: "text/html; charset=utf-8" });
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const open = async () => {
    const local = await localOnlyContext(browser);
    blocked = local.blocked;
    page = await local.context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(`${server.url}/player.html`);
    return errors;
  };

  const expectEnglishCues = (cues: SeenCue[]) => {
    expect(cues).toHaveLength(2);
    expect(cues[0]?.text).toBe("Hello from the first cue");
    expect(cues[0]?.start).toBeCloseTo(1, 2);
    expect(cues[0]?.end).toBeCloseTo(2.5, 2);
    expect(cues[1]?.text).toBe("The second cue");
    expect(cues[1]?.start).toBeCloseTo(4, 2);
    expect(cues[1]?.end).toBeCloseTo(6.25, 2);
  };

  it("dash.js lists every caption AdaptationSet and shows the chosen one's cues at their times", async () => {
    const errors = await open();
    const result = await page.evaluate(
      ([src, lang]) =>
        (window as unknown as { playDash: (s: string, l: string) => Promise<unknown> }).playDash(src, lang),
      ["/with-captions.mpd", "en"] as const,
    );
    const { tracks, cues } = result as {
      tracks: { lang: string; roles: string[]; labels: string[] }[];
      cues: SeenCue[];
    };
    expect(tracks.map((t) => t.lang).sort()).toEqual(["de", "en"]);
    expect(tracks.map((t) => t.roles)).toEqual([["subtitle"], ["subtitle"]]);
    expect(tracks.map((t) => t.labels).sort()).toEqual([["Deutsch"], ["English"]]);
    expectEnglishCues(cues);
    expect(server.requests).toContain("/captions/en.vtt");
    expect(errors).toEqual([]);
    expect(blocked).toEqual([]);
    await page.context().close();
  });

  it("hls.js lists the SUBTITLES renditions and shows the chosen one's cues at their times", async () => {
    const errors = await open();
    const result = await page.evaluate(
      ([src, lang]) =>
        (window as unknown as { playHls: (s: string, l: string) => Promise<unknown> }).playHls(src, lang),
      ["/with-captions.m3u8", "en"] as const,
    );
    const { tracks, cues, label } = result as {
      tracks: { lang: string; name: string }[];
      cues: SeenCue[];
      label: string;
    };
    expect(tracks).toEqual([
      { lang: "de", name: "Deutsch" },
      { lang: "en", name: "English" },
    ]);
    expect(label).toBe("English");
    expectEnglishCues(cues);
    expect(server.requests).toContain("/captions_en.m3u8");
    expect(server.requests).toContain("/captions/en.vtt");
    expect(errors).toEqual([]);
    expect(blocked).toEqual([]);
    await page.context().close();
  });
});
