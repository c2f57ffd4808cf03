import { describe, expect, it } from "vitest";
import {
  EMBED_SCRIPT,
  type EmbedVideo,
  embedPageHtml,
  embedResponseHeaders,
  parseEmbedOptions,
  parseFrameAncestors,
} from "./embed-page.ts";

const video: EmbedVideo = {
  id: "vid123",
  title: 'Cats & "dogs" </script><script>alert(1)</script>',
  posterUrl: "/v/vid123/poster.jpg",
  dashUrl: "/v/vid123/manifest.mpd",
  hlsUrl: "/v/vid123/master.m3u8",
  watchUrl: "http://api.test/watch?v=cats",
  duration: 30,
  captions: [{ lang: "en", label: "English" }],
};

const dataOf = (page: string) => {
  const m = /<script type="application\/json" id="embed-data">([\s\S]*?)<\/script>/.exec(page);
  if (!m) throw new Error("no data block");
  return JSON.parse(m[1] as string) as Record<string, unknown>;
};

describe("parseEmbedOptions", () => {
  const options = (q: string) => parseEmbedOptions(new URLSearchParams(q));

  it("reads autoplay, muted, start and loop", () => {
    expect(options("")).toEqual({ autoplay: false, muted: false, start: 0, loop: false });
    expect(options("autoplay=1&muted=1&start=12.5&loop=1")).toEqual({
      autoplay: true,
      muted: true,
      start: 12.5,
      loop: true,
    });
    expect(options("t=30s")).toMatchObject({ start: 30 });
  });

  it("mutes autoplay unless told otherwise, since browsers only autoplay muted video", () => {
    expect(options("autoplay=1")).toMatchObject({ autoplay: true, muted: true });
    expect(options("autoplay=1&muted=0")).toMatchObject({ autoplay: true, muted: false });
  });

  it("ignores malformed values", () => {
    expect(options("autoplay=yes&start=-5&loop=2")).toEqual({ autoplay: false, muted: false, start: 0, loop: false });
    expect(options("start=1e9")).toMatchObject({ start: 0 });
    expect(options("start=abc")).toMatchObject({ start: 0 });
  });
});

describe("embedPageHtml", () => {
  const page = embedPageHtml(video, { autoplay: true, muted: true, start: 5, loop: true });

  it("is a bare player page using the deployment's own player module", () => {
    expect(page).toContain(`<script type="module" src="${EMBED_SCRIPT}"></script>`);
    expect(page).not.toContain("site-header");
    expect(page).toContain(
      '<video id="video" controls playsinline preload="metadata" poster="/v/vid123/poster.jpg" muted loop',
    );
    expect(page).toContain('<select id="quality">');
    expect(page).toContain('<select id="captions">');
    expect(page).toContain('href="http://api.test/watch?v=cats"');
  });

  it("hands the player its sources and options as data, not script", () => {
    expect(dataOf(page)).toEqual({
      id: "vid123",
      title: video.title,
      poster: "/v/vid123/poster.jpg",
      dash: "/v/vid123/manifest.mpd",
      hls: "/v/vid123/master.m3u8",
      captions: [{ lang: "en", label: "English" }],
      autoplay: true,
      muted: true,
      start: 5,
      loop: true,
    });
  });

  it("escapes the title everywhere, so it cannot end the data block or add markup", () => {
    expect(page.match(/<script\b/g)).toHaveLength(2);
    expect(page).toContain(
      "<title>Cats &amp; &quot;dogs&quot; &lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;</title>",
    );
    expect(page).not.toContain("</script><script>alert(1)");
  });

  it("starts at the beginning when asked to start past the end", () => {
    expect(dataOf(embedPageHtml(video, { autoplay: false, muted: false, start: 31, loop: false })).start).toBe(0);
    expect(
      embedPageHtml({ ...video, posterUrl: null }, { autoplay: false, muted: false, start: 0, loop: false }),
    ).not.toContain("poster=");
  });
});

describe("frame-ancestors from EMBED_ALLOWED_ORIGINS", () => {
  it("allows every site by default", () => {
    expect(parseFrameAncestors(undefined)).toEqual({ ok: true, sources: ["*"] });
    expect(parseFrameAncestors("")).toEqual({ ok: true, sources: ["*"] });
  });

  it("takes a list of origins, host wildcards, 'self' and 'none'", () => {
    expect(parseFrameAncestors("https://blog.example, https://*.example.org  http://localhost:3000/ 'self'")).toEqual({
      ok: true,
      sources: ["https://blog.example", "https://*.example.org", "http://localhost:3000", "'self'"],
    });
    expect(parseFrameAncestors("'none' https://a.example")).toEqual({ ok: true, sources: ["'none'"] });
  });

  it("refuses what is not an origin", () => {
    expect(parseFrameAncestors("https://a.example/path, ftp://x, javascript:alert(1), https://a;b")).toEqual({
      ok: false,
      invalid: ["https://a.example/path", "ftp://x", "javascript:alert(1)", "https://a;b"],
    });
  });

  it("puts them in the page's CSP with only same-origin scripts, styles and media", () => {
    const headers = embedResponseHeaders(["https://blog.example", "'self'"]);
    const csp = headers["content-security-policy"] ?? "";
    expect(csp).toContain("frame-ancestors https://blog.example 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain("unsafe-inline");
    expect(headers).not.toHaveProperty("x-frame-options");
    expect(headers["content-type"]).toBe("text/html; charset=utf-8");
  });
});
