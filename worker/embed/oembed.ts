/**
 * oEmbed 1.0 (https://oembed.com) for this deployment's videos. Pure functions.
 *
 *   parseOEmbedQuery(query, baseUrl)   the request, or the answer the spec asks for: 400 without
 *                                      a url, 404 for a URL that is not one of this deployment's
 *                                      watch or embed pages (another site's included), 501 for a
 *                                      format other than json
 *   matchVideoUrl(url, baseUrl)        the video reference in `<base>/watch?v=<ref>` or
 *                                      `<base>/embed/<ref>`, or null
 *   oembedVideo(video, request, site)  the `video` response: iframe HTML, width and height within
 *                                      maxwidth/maxheight (aspect kept), title, author, provider,
 *                                      and the largest thumbnail that fits the same bounds
 *   oembedDiscoveryLink(watchUrl, baseUrl) the `<link rel="alternate">` for the watch page
 *
 * A private video has no oEmbed answer (401, as the spec says for private resources); the route
 * decides that from the video's visibility before calling `oembedVideo`.
 */

export interface OEmbedRequest {
  url: string;
  videoRef: string;
  maxwidth: number | null;
  maxheight: number | null;
}

export type OEmbedQueryResult =
  | { ok: true; request: OEmbedRequest }
  | { ok: false; status: 400 | 404 | 501; message: string };

export interface OEmbedVideoSource {
  id: string;
  title: string;
  /** Pixel size of the top rung; null while unknown (16:9 is assumed). */
  width: number | null;
  height: number | null;
  authorName: string;
  authorUrl: string;
  /** Stored still images of the video, any order. */
  thumbnails: { url: string; width: number; height: number }[];
}

export interface OEmbedSite {
  baseUrl: string;
  providerName: string;
}

export interface OEmbedVideoResponse {
  type: "video";
  version: "1.0";
  title: string;
  author_name: string;
  author_url: string;
  provider_name: string;
  provider_url: string;
  cache_age: number;
  html: string;
  width: number;
  height: number;
  thumbnail_url?: string;
  thumbnail_width?: number;
  thumbnail_height?: number;
}

/** The iframe's longer side when the consumer sets no bound. */
export const OEMBED_DEFAULT_SIZE = 640;
/** Seconds a consumer may cache the answer. */
export const OEMBED_CACHE_AGE = 3600;

const VIDEO_REF = /^[A-Za-z0-9_-]{1,128}$/;
const trimSlashes = (s: string) => s.replace(/\/+$/, "");

/** The video reference (slug or id) of one of this deployment's watch or embed URLs. */
export function matchVideoUrl(url: string, baseUrl: string): string | null {
  let parsed: URL;
  let base: URL;
  try {
    parsed = new URL(url);
    base = new URL(baseUrl);
  } catch {
    return null;
  }
  if (parsed.origin !== base.origin) return null;
  const prefix = trimSlashes(base.pathname);
  if (!parsed.pathname.startsWith(`${prefix}/`)) return null;
  const path = trimSlashes(parsed.pathname.slice(prefix.length));
  const ref = path === "/watch" ? parsed.searchParams.get("v") : (/^\/embed\/([^/]+)$/.exec(path)?.[1] ?? null);
  return ref !== null && VIDEO_REF.test(ref) ? ref : null;
}

const positiveInt = (value: string | null): number | null | "invalid" => {
  if (value === null || value === "") return null;
  return /^\d{1,5}$/.test(value) && Number(value) > 0 ? Number(value) : "invalid";
};

/** The consumer's request, checked in the order the spec's status codes need. */
export function parseOEmbedQuery(query: URLSearchParams, baseUrl: string): OEmbedQueryResult {
  const url = query.get("url");
  if (!url) return { ok: false, status: 400, message: "The url parameter is required." };
  const format = query.get("format") ?? "json";
  if (format !== "json") return { ok: false, status: 501, message: `The ${format} format is not offered; use json.` };
  const maxwidth = positiveInt(query.get("maxwidth"));
  const maxheight = positiveInt(query.get("maxheight"));
  if (maxwidth === "invalid" || maxheight === "invalid") {
    return { ok: false, status: 400, message: "maxwidth and maxheight must be positive whole numbers of pixels." };
  }
  const videoRef = matchVideoUrl(url, baseUrl);
  if (videoRef === null) return { ok: false, status: 404, message: "That URL is not a video of this site." };
  return { ok: true, request: { url, videoRef, maxwidth, maxheight } };
}

/** The largest size of the given aspect within both bounds (whole pixels, at least 1). */
function fitWithin(width: number, height: number, maxwidth: number | null, maxheight: number | null) {
  const scale = Math.min(1, maxwidth ? maxwidth / width : 1, maxheight ? maxheight / height : 1);
  return { width: Math.max(1, Math.floor(width * scale)), height: Math.max(1, Math.floor(height * scale)) };
}

const html = (text: string) =>
  text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;");

/** The oEmbed `video` answer for a public or unlisted video. */
export function oembedVideo(video: OEmbedVideoSource, request: OEmbedRequest, site: OEmbedSite): OEmbedVideoResponse {
  const aspectW = video.width && video.height ? video.width : 16;
  const aspectH = video.width && video.height ? video.height : 9;
  // The longer side gets the default size, so a portrait video is not a tall strip.
  const natural =
    aspectW >= aspectH
      ? { width: OEMBED_DEFAULT_SIZE, height: Math.round((OEMBED_DEFAULT_SIZE * aspectH) / aspectW) }
      : { width: Math.round((OEMBED_DEFAULT_SIZE * aspectW) / aspectH), height: OEMBED_DEFAULT_SIZE };
  const { width, height } = fitWithin(natural.width, natural.height, request.maxwidth, request.maxheight);
  const base = trimSlashes(site.baseUrl);
  const src = `${base}/embed/${encodeURIComponent(video.id)}`;
  const iframe =
    `<iframe src="${html(src)}" width="${width}" height="${height}" title="${html(video.title)}" ` +
    `frameborder="0" allow="autoplay; fullscreen; picture-in-picture" allowfullscreen></iframe>`;
  const thumbnail = [...video.thumbnails]
    .filter(
      (t) =>
        (!request.maxwidth || t.width <= request.maxwidth) && (!request.maxheight || t.height <= request.maxheight),
    )
    .sort((a, b) => b.width * b.height - a.width * a.height)[0];
  return {
    type: "video",
    version: "1.0",
    title: video.title,
    author_name: video.authorName,
    author_url: video.authorUrl,
    provider_name: site.providerName,
    provider_url: `${base}/`,
    cache_age: OEMBED_CACHE_AGE,
    html: iframe,
    width,
    height,
    ...(thumbnail
      ? { thumbnail_url: thumbnail.url, thumbnail_width: thumbnail.width, thumbnail_height: thumbnail.height }
      : {}),
  };
}

/** The discovery `<link>` a watch page carries in its `<head>`. */
export function oembedDiscoveryLink(watchUrl: string, baseUrl: string, title: string): string {
  const href = `${trimSlashes(baseUrl)}/oembed?url=${encodeURIComponent(watchUrl)}&format=json`;
  return `<link rel="alternate" type="application/json+oembed" href="${html(href)}" title="${html(title)}" />`;
}
