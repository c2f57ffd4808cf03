import { describe, expect, it } from "vitest";
import {
  matchVideoUrl,
  OEMBED_DEFAULT_SIZE,
  type OEmbedRequest,
  type OEmbedVideoSource,
  oembedDiscoveryLink,
  oembedVideo,
  parseOEmbedQuery,
} from "./oembed.ts";

const BASE = "https://videos.example.com";
const site = { baseUrl: BASE, providerName: "StreamBuddy" };

const video: OEmbedVideoSource = {
  id: "abc123",
  title: 'A <b>"bold"</b> title',
  width: 1920,
  height: 1080,
  authorName: "alice",
  authorUrl: `${BASE}/?owner=alice`,
  thumbnails: [
    { url: `${BASE}/v/abc123/thumbnail.jpg?width=320`, width: 320, height: 180 },
    { url: `${BASE}/v/abc123/poster.jpg`, width: 1280, height: 720 },
    { url: `${BASE}/v/abc123/thumbnail.jpg?width=640`, width: 640, height: 360 },
  ],
};

const request = (over: Partial<OEmbedRequest> = {}): OEmbedRequest => ({
  url: `${BASE}/watch?v=abc123`,
  videoRef: "abc123",
  maxwidth: null,
  maxheight: null,
  ...over,
});

describe("matchVideoUrl", () => {
  it("knows this deployment's watch and embed URLs", () => {
    expect(matchVideoUrl(`${BASE}/watch?v=my-slug`, BASE)).toBe("my-slug");
    expect(matchVideoUrl(`${BASE}/watch/?v=my-slug&t=3`, BASE)).toBe("my-slug");
    expect(matchVideoUrl(`${BASE}/embed/abc123`, BASE)).toBe("abc123");
    expect(matchVideoUrl(`${BASE}/embed/abc123/?autoplay=1`, BASE)).toBe("abc123");
    expect(matchVideoUrl("http://127.0.0.1:8787/embed/x", "http://127.0.0.1:8787/")).toBe("x");
  });

  it("refuses other sites, look-alike hosts, other schemes and ports, and other paths", () => {
    for (const url of [
      "https://evil.example/watch?v=abc123",
      "https://videos.example.com.evil.example/watch?v=abc123",
      "http://videos.example.com/watch?v=abc123",
      "https://videos.example.com:8443/watch?v=abc123",
      `${BASE}/watch`,
      `${BASE}/watch?v=`,
      `${BASE}/watch?v=../../etc`,
      `${BASE}/embed/`,
      `${BASE}/embed/a/b`,
      `${BASE}/api/videos/abc123/`,
      "not a url",
    ]) {
      expect(matchVideoUrl(url, BASE), url).toBeNull();
    }
  });
});

describe("parseOEmbedQuery", () => {
  const parse = (q: Record<string, string>) => parseOEmbedQuery(new URLSearchParams(q), BASE);

  it("accepts a watch URL with bounds", () => {
    expect(parse({ url: `${BASE}/watch?v=abc123`, maxwidth: "400", maxheight: "300", format: "json" })).toEqual({
      ok: true,
      request: { url: `${BASE}/watch?v=abc123`, videoRef: "abc123", maxwidth: 400, maxheight: 300 },
    });
  });

  it("answers as the spec says: 400 without url, 404 for another site, 501 for xml", () => {
    expect(parse({})).toMatchObject({ ok: false, status: 400 });
    expect(parse({ url: "https://www.youtube.com/watch?v=abc123" })).toMatchObject({ ok: false, status: 404 });
    expect(parse({ url: `${BASE}/watch?v=abc123`, format: "xml" })).toMatchObject({ ok: false, status: 501 });
    expect(parse({ url: `${BASE}/watch?v=abc123`, maxwidth: "-3" })).toMatchObject({ ok: false, status: 400 });
    expect(parse({ url: `${BASE}/watch?v=abc123`, maxheight: "wide" })).toMatchObject({ ok: false, status: 400 });
  });
});

describe("oembedVideo", () => {
  it("is an oEmbed 1.0 video answer with the iframe, author, provider and the largest thumbnail", () => {
    const answer = oembedVideo(video, request(), site);
    expect(answer).toEqual({
      type: "video",
      version: "1.0",
      title: video.title,
      author_name: "alice",
      author_url: `${BASE}/?owner=alice`,
      provider_name: "StreamBuddy",
      provider_url: `${BASE}/`,
      cache_age: 3600,
      html:
        `<iframe src="${BASE}/embed/abc123" width="640" height="360" title="A &lt;b&gt;&quot;bold&quot;&lt;/b&gt; title" ` +
        'frameborder="0" allow="autoplay; fullscreen; picture-in-picture" allowfullscreen></iframe>',
      width: OEMBED_DEFAULT_SIZE,
      height: 360,
      thumbnail_url: `${BASE}/v/abc123/poster.jpg`,
      thumbnail_width: 1280,
      thumbnail_height: 720,
    });
  });

  it("keeps the player and the thumbnail within maxwidth and maxheight, aspect kept", () => {
    const narrow = oembedVideo(video, request({ maxwidth: 400 }), site);
    expect([narrow.width, narrow.height]).toEqual([400, 225]);
    expect(narrow.thumbnail_width).toBe(320);
    const low = oembedVideo(video, request({ maxheight: 200 }), site);
    expect([low.width, low.height]).toEqual([355, 200]);
    expect(low.thumbnail_height).toBe(180);
    const tiny = oembedVideo(video, request({ maxwidth: 100 }), site);
    expect([tiny.width, tiny.height]).toEqual([100, 56]);
    expect(tiny).not.toHaveProperty("thumbnail_url");
    expect(tiny).not.toHaveProperty("thumbnail_width");
    const roomy = oembedVideo(video, request({ maxwidth: 5000, maxheight: 5000 }), site);
    expect([roomy.width, roomy.height]).toEqual([640, 360]);
  });

  it("keeps a portrait video's shape, and assumes 16:9 while the size is unknown", () => {
    const portrait = oembedVideo({ ...video, width: 720, height: 1280 }, request(), site);
    expect([portrait.width, portrait.height]).toEqual([360, 640]);
    const bounded = oembedVideo({ ...video, width: 720, height: 1280 }, request({ maxheight: 480 }), site);
    expect([bounded.width, bounded.height]).toEqual([270, 480]);
    const unknown = oembedVideo({ ...video, width: null, height: null, thumbnails: [] }, request(), site);
    expect([unknown.width, unknown.height]).toEqual([640, 360]);
    expect(unknown).not.toHaveProperty("thumbnail_url");
  });
});

describe("oembedDiscoveryLink", () => {
  it("points at the JSON endpoint for the page's URL", () => {
    expect(oembedDiscoveryLink(`${BASE}/watch?v=a&b`, `${BASE}/`, 'T "1"')).toBe(
      `<link rel="alternate" type="application/json+oembed" href="${BASE}/oembed?url=https%3A%2F%2Fvideos.example.com%2Fwatch%3Fv%3Da%26b&amp;format=json" title="T &quot;1&quot;" />`,
    );
  });
});
