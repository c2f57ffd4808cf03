import { describe, expect, it } from "vitest";
import { DEV_PLAYBACK_SIGNING_KEYS } from "../../app/settings";
import { mintPlaybackToken, parseSigningKeys } from "../../playback/tokens";
import { expectRefusal } from "../../security/bad-input.helpers";
import { callApp, signedInUser } from "../../testing/api";
import { seedReadyVideo, seedVideo } from "../../testing/seed";
import { ENGLISH_VTT, seedPlayableVideo, seedStoryboard } from "../../testing/viewer";

const ip = () => ({ "cf-connecting-ip": `192.0.2.${Math.floor(Math.random() * 250)}` });
const get = (path: string, headers: Record<string, string> = {}, vars?: Record<string, string>) =>
  callApp(path, { headers: { ...ip(), ...headers } }, undefined, vars);

/** The JSON block the embed page hands its script. */
async function embedData(res: Response) {
  const html = await res.text();
  const json = /<script type="application\/json" id="embed-data">(.*?)<\/script>/s.exec(html)?.[1];
  if (!json) throw new Error(`no embed data in ${html.slice(0, 300)}`);
  return { html, data: JSON.parse(json) as Record<string, unknown> };
}

const tokenFor = (videoId: string, inSeconds = 600) =>
  mintPlaybackToken(parseSigningKeys(DEV_PLAYBACK_SIGNING_KEYS), videoId, Math.floor(Date.now() / 1000) + inSeconds);

describe("GET /embed/{id}", () => {
  it("is the bare player page with the video's sources, captions and options, framable by any site by default", async () => {
    const user = await signedInUser();
    const v = await seedPlayableVideo({ ownerId: user.id, title: "Tea & <biscuits>" });
    await callApp(`/api/videos/${v.id}/captions/en/`, {
      method: "PUT",
      headers: { ...user.auth, ...ip(), "content-type": "text/vtt" },
      body: ENGLISH_VTT,
    });
    const res = await get(`/embed/${v.id}?autoplay=1&start=3&loop=1`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("frame-ancestors *");
    expect(csp).toContain("script-src 'self'");
    expect(res.headers.get("x-frame-options")).toBeNull();
    const { html, data } = await embedData(res);
    expect(html).toContain("<title>Tea &amp; &lt;biscuits&gt;</title>");
    expect(html).toContain('<script type="module" src="/app/embed.js"></script>');
    expect(data).toMatchObject({
      id: v.id,
      dash: `http://api.test/v/${v.id}/manifest.mpd`,
      hls: `http://api.test/v/${v.id}/master.m3u8`,
      poster: `http://api.test/v/${v.id}/poster.jpg`,
      captions: [{ lang: "en", label: "English" }],
      autoplay: true,
      muted: true,
      start: 3,
      loop: true,
    });
  });

  it("is framed only by the sites EMBED_ALLOWED_ORIGINS names", async () => {
    const v = await seedReadyVideo();
    const res = await get(
      `/embed/${v.id}`,
      {},
      { EMBED_ALLOWED_ORIGINS: "https://blog.example, https://*.news.example" },
    );
    expect(res.headers.get("content-security-policy")).toContain(
      "frame-ancestors https://blog.example https://*.news.example",
    );
    const none = await get(`/embed/${v.id}`, {}, { EMBED_ALLOWED_ORIGINS: "'none'" });
    expect(none.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
    // A setting that is no list of sources is refused loudly, naming it.
    const bad = await get(`/embed/${v.id}`, {}, { EMBED_ALLOWED_ORIGINS: "javascript:alert(1)" });
    await expectRefusal(bad, 503, "service_unavailable");
  });

  it("plays a private video only with a valid token (or its owner's key), whose signed URLs the page gets", async () => {
    const user = await signedInUser();
    const v = await seedReadyVideo({ ownerId: user.id, visibility: "private" });
    await expectRefusal(await get(`/embed/${v.id}`), 404, "not_found");
    await expectRefusal(await get(`/embed/${v.id}?token=`), 404, "not_found");
    const stranger = await signedInUser();
    await expectRefusal(await get(`/embed/${v.id}`, stranger.auth), 404, "not_found");
    const preview = await embedData(await get(`/embed/${v.id}`, user.auth));
    expect(preview.data.dash).toMatch(new RegExp(`/v/${v.id}/t/[^/]+/manifest\\.mpd$`));
    await expectRefusal(await get(`/embed/${v.id}?token=${await tokenFor(v.id, -5)}`), 403, "forbidden");
    const other = await seedReadyVideo({ visibility: "private" });
    await expectRefusal(await get(`/embed/${v.id}?token=${await tokenFor(other.id)}`), 403, "forbidden");
    await expectRefusal(await get(`/embed/${v.id}?token=garbage`), 403, "forbidden");

    const token = await tokenFor(v.id);
    const res = await get(`/embed/${v.id}?token=${encodeURIComponent(token)}`);
    expect(res.status).toBe(200);
    const { data } = await embedData(res);
    expect(data.dash).toBe(`http://api.test/v/${v.id}/t/${token}/manifest.mpd`);
    expect((await get(new URL(String(data.dash)).pathname)).status).toBe(200);
  });

  it("says a video that is not ready has nothing to play yet, and 404s for no video", async () => {
    const v = await seedVideo({ status: "processing" });
    const { data } = await embedData(await get(`/embed/${v.id}`));
    expect(data).toMatchObject({ dash: null, hls: null });
    await expectRefusal(await get(`/embed/${crypto.randomUUID()}`), 404, "not_found");
  });

  it("is in the playback token's answer as embed_url", async () => {
    const user = await signedInUser();
    const v = await seedReadyVideo({ ownerId: user.id, visibility: "private" });
    const res = await callApp(`/api/videos/${v.id}/playback-token/`, {
      method: "POST",
      headers: { ...user.auth, ...ip() },
    });
    const body = (await res.json()) as { token: string; embed_url: string };
    expect(body.embed_url).toBe(`http://api.test/embed/${v.id}?token=${encodeURIComponent(body.token)}`);
    expect((await get(new URL(body.embed_url).pathname + new URL(body.embed_url).search)).status).toBe(200);
  });
});

describe("GET /oembed", () => {
  const oembed = (url: string, extra = "") => get(`/oembed?url=${encodeURIComponent(url)}&format=json${extra}`);

  it("answers oEmbed 1.0 for a watch URL: the iframe, sizes within the bounds, author and thumbnail", async () => {
    const user = await signedInUser();
    const v = await seedReadyVideo({ ownerId: user.id, title: "Holiday", width: 1280, height: 720 });
    await seedStoryboard(v);
    const res = await oembed(`http://api.test/watch?v=${v.slug}`, "&maxwidth=400");
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      type: "video",
      version: "1.0",
      title: "Holiday",
      author_name: user.username,
      provider_name: "StreamBuddy",
      provider_url: "http://api.test/",
      width: 400,
      height: 225,
      // The largest stored still within 400 px: the 320-wide frame of the poster's time (10% in).
      thumbnail_url: `http://api.test/v/${v.id}/thumbnail.jpg?time=1&width=320`,
      thumbnail_width: 320,
      thumbnail_height: 180,
    });
    expect(body.html).toBe(
      `<iframe src="http://api.test/embed/${v.id}" width="400" height="225" title="Holiday" frameborder="0" allow="autoplay; fullscreen; picture-in-picture" allowfullscreen></iframe>`,
    );
    const embedUrl = await oembed(`http://api.test/embed/${v.id}`);
    expect(((await embedUrl.json()) as { width: number }).width).toBe(640);
  });

  it("refuses another site's URL (404), a format other than json (501), no url (400), a private video (401)", async () => {
    const v = await seedReadyVideo();
    const priv = await seedReadyVideo({ visibility: "private" });
    await expectRefusal(await oembed(`https://evil.example/watch?v=${v.slug}`), 404, "not_found");
    await expectRefusal(await oembed(`http://api.test.evil.example/watch?v=${v.slug}`), 404, "not_found");
    await expectRefusal(
      await get(`/oembed?url=${encodeURIComponent(`http://api.test/embed/${v.id}`)}&format=xml`),
      501,
      "not_implemented",
    );
    await expectRefusal(await get("/oembed?format=json"), 400, "bad_request");
    await expectRefusal(await oembed(`http://api.test/watch?v=${v.slug}`, "&maxwidth=wide"), 400, "bad_request");
    await expectRefusal(await oembed("http://api.test/watch?v=no-such-video"), 404, "not_found");
    await expectRefusal(await oembed(`http://api.test/watch?v=${priv.slug}`), 401, "unauthorized");
  });
});

describe("GET /watch", () => {
  it("carries the oEmbed discovery link of a video anyone with the link may see", async () => {
    const v = await seedReadyVideo({ visibility: "unlisted", title: "Link me" });
    const res = await get(`/watch?v=${v.slug}`);
    expect(res.status).toBe(200);
    const html = await res.text();
    const href = `http://api.test/oembed?url=${encodeURIComponent(`http://api.test/watch?v=${v.slug}`)}&amp;format=json`;
    expect(html).toContain(`<link rel="alternate" type="application/json+oembed" href="${href}" title="Link me" />`);
    // Still the web app's watch page.
    expect(html).toContain('<script type="module" src="/app/watch.js"></script>');
  });

  it("names no private video", async () => {
    const v = await seedReadyVideo({ visibility: "private", title: "Secret title" });
    const html = await (await get(`/watch?v=${v.slug}`)).text();
    expect(html).toContain('<script type="module" src="/app/watch.js"></script>');
    expect(html).not.toContain("json+oembed");
    expect(html).not.toContain("Secret title");
  });
});
