import { eq } from "drizzle-orm";
import type { Context } from "hono";
import { ApiError } from "../../app/errors";
import type { AppEnv } from "../../app/types";
import { captionsOf } from "../../captions/captions.data";
import { users, type Video } from "../../db/schema";
import { embedPageHtml, embedResponseHeaders, parseEmbedOptions } from "../../embed/embed-page";
import { oembedDiscoveryLink, oembedVideo, parseOEmbedQuery } from "../../embed/oembed";
import { NO_PLAYBACK, playbackBase, playbackUrlsAt, thumbnailUrl } from "../../playback/urls";
import { playbackFor, reachableVideo, requestOrigin } from "../../videos/access";
import { findVideo } from "../../videos/videos.data";

type C = Context<AppEnv>;

/** What the embed page and oEmbed call the deployment. */
export const PROVIDER_NAME = "StreamBuddy";

const watchUrl = (origin: string, video: Pick<Video, "slug">) => `${origin}/watch?v=${encodeURIComponent(video.slug)}`;

/** A playback token, from `?token=`: the signed embed of a private video. */
const tokenOf = (c: C) => {
  const token = c.req.query("token");
  return token === undefined || token === "" ? undefined : token;
};

/**
 * `/embed/{id}`: the bare player page for an iframe. A private video needs `?token=` (a playback
 * token of that video, which then signs the page's playback URLs too) or its owner's key; anyone
 * else gets 404, as everywhere. Framing follows EMBED_ALLOWED_ORIGINS.
 */
export async function embedPage(c: C) {
  const token = tokenOf(c);
  const video = await reachableVideo(c, c.req.param("id") as string, token);
  const origin = requestOrigin(c);
  const urls =
    token === undefined
      ? (await playbackFor(c, video)).urls
      : video.status === "ready"
        ? playbackUrlsAt(playbackBase(origin, video.id, token), video)
        : NO_PLAYBACK;
  const captions = await captionsOf(c.var.db, video.id);
  const page = embedPageHtml(
    {
      id: video.id,
      title: video.title,
      posterUrl: urls.poster_url,
      dashUrl: urls.dash_url,
      hlsUrl: urls.hls_url,
      watchUrl: watchUrl(origin, video),
      duration: video.duration,
      captions: captions.map((t) => ({ lang: t.lang, label: t.label })),
    },
    parseEmbedOptions(new URL(c.req.url).searchParams),
  );
  // Hono answers HEAD through this GET route and drops the body itself.
  return c.body(page, 200, embedResponseHeaders(c.var.settings.embedAllowedOrigins));
}

/**
 * The stills an oEmbed answer may offer: the poster's frame at every width the encode stored
 * (none for a version without stored frames, whose poster's size is not recorded).
 */
function stillsOf(video: Video, base: string) {
  const { storyboard, duration } = video;
  if (!storyboard || duration === null || video.status !== "ready") return [];
  // The chosen poster's frame; without one, a frame from early on, as the encode's own poster is.
  const time = video.posterTime ?? Math.round(duration * 0.1);
  return storyboard.thumbnails.sizes.map((s) => ({ url: thumbnailUrl(base, time, s.width), ...s }));
}

const OEMBED_ERRORS = { 400: "bad_request", 404: "not_found", 501: "not_implemented" } as const;

/**
 * `/oembed?url=…&format=json`: oEmbed 1.0 for this deployment's watch and embed pages. Another
 * site's URL is 404, a format other than json 501, a private video 401 (as the spec says).
 */
export async function oembed(c: C) {
  const origin = requestOrigin(c);
  const parsed = parseOEmbedQuery(new URL(c.req.url).searchParams, origin);
  if (!parsed.ok) throw new ApiError(OEMBED_ERRORS[parsed.status], parsed.message);
  const video = await findVideo(c.var.db, parsed.request.videoRef);
  if (!video) throw new ApiError("not_found", "No such video");
  if (video.visibility === "private") {
    throw new ApiError("unauthorized", "A private video has no public embed; its owner embeds it with a signed link");
  }
  const owner = await c.var.db
    .select({ username: users.username })
    .from(users)
    .where(eq(users.id, video.ownerId))
    .get();
  const base = playbackBase(origin, video.id);
  const answer = oembedVideo(
    {
      id: video.id,
      title: video.title,
      width: video.width,
      height: video.height,
      authorName: owner?.username ?? "",
      authorUrl: `${origin}/`,
      thumbnails: stillsOf(video, base),
    },
    parsed.request,
    { baseUrl: origin, providerName: PROVIDER_NAME },
  );
  return c.json(answer, 200, { "cache-control": `public, max-age=${answer.cache_age}` });
}

/**
 * `/watch`: the web app's watch page as the static assets hold it, with the oEmbed discovery
 * `<link>` in its head for a video anyone with the link may see, so sites that unfurl links
 * (which run no script) find the embed.
 */
export async function watchPage(c: C) {
  const asset = await c.env.ASSETS.fetch(new Request(new URL("/watch", c.req.url), { headers: c.req.raw.headers }));
  // The assets' answer has immutable headers; the app adds its own (X-Request-Id).
  const page = new Response(asset.body, asset);
  const ref = c.req.query("v");
  if (!page.ok || !ref) return page;
  const video = await findVideo(c.var.db, ref);
  if (!video || video.visibility === "private") return page;
  const origin = requestOrigin(c);
  const link = oembedDiscoveryLink(watchUrl(origin, video), origin, video.title);
  const headers = new Headers(page.headers);
  // The page differs by video now: the asset's validators no longer describe it.
  headers.delete("etag");
  headers.delete("content-length");
  headers.set("cache-control", "public, max-age=60");
  const rewritten = new HTMLRewriter()
    .on("head", { element: (head) => void head.append(link, { html: true }) })
    .transform(new Response(page.body, { status: page.status, headers }));
  return rewritten;
}
