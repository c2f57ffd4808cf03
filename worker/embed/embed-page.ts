/**
 * The embeddable player page (`GET /embed/{id}`): no site chrome, the video filling the frame,
 * played by the deployment's own player module (public/app/player.js, dash.js with quality and
 * captions menus; HLS where only that plays) through public/app/embed.js. Pure functions.
 *
 *   parseEmbedOptions(query)             `?autoplay=1&muted=1&start=S&loop=1` (bad values ignored)
 *   embedPageHtml(video, options)        the page; the video travels as a JSON data block, so
 *                                        the CSP needs no inline script
 *   parseFrameAncestors(setting)         EMBED_ALLOWED_ORIGINS (default "*") → CSP sources, or
 *                                        the entries that are not valid sources
 *   embedResponseHeaders(ancestors)      Content-Security-Policy (with `frame-ancestors`) and
 *                                        the other headers the page is served with
 */

export interface EmbedVideo {
  id: string;
  title: string;
  posterUrl: string | null;
  dashUrl: string | null;
  hlsUrl: string | null;
  /** The watch page, linked from the title for viewers who want the full page. */
  watchUrl: string;
  duration: number | null;
  captions: { lang: string; label: string }[];
}

export interface EmbedOptions {
  autoplay: boolean;
  /** Browsers start playback on their own only when muted; autoplay implies muted unless muted=0. */
  muted: boolean;
  /** Seconds; 0 is the start. */
  start: number;
  loop: boolean;
}

export const EMBED_SCRIPT = "/app/embed.js";
export const EMBED_STYLESHEET = "/app/embed.css";
export const DEFAULT_EMBED_ALLOWED_ORIGINS = "*";

const flag = (value: string | null | undefined) => value === "1" || value === "true";

/** Player options from the query; anything malformed falls back to the default. */
export function parseEmbedOptions(query: URLSearchParams): EmbedOptions {
  const autoplay = flag(query.get("autoplay"));
  const mutedParam = query.get("muted");
  const startParam = query.get("start") ?? query.get("t");
  const start = startParam !== null && /^\d+(\.\d+)?s?$/.test(startParam) ? Number.parseFloat(startParam) : 0;
  return {
    autoplay,
    muted: mutedParam === null ? autoplay : flag(mutedParam),
    start: Number.isFinite(start) ? start : 0,
    loop: flag(query.get("loop")),
  };
}

const html = (text: string) =>
  text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;");

/** JSON safe inside a `<script type="application/json">` block (no `</script>`, no `<!--`). */
const jsonForScript = (value: unknown) =>
  JSON.stringify(value).replaceAll("<", "\\u003c").replaceAll("\u2028", "\\u2028").replaceAll("\u2029", "\\u2029");

/** The embed page for a video. Start beyond the duration begins at the start instead. */
export function embedPageHtml(video: EmbedVideo, options: EmbedOptions): string {
  const start = video.duration !== null && options.start >= video.duration ? 0 : options.start;
  const data = {
    id: video.id,
    title: video.title,
    poster: video.posterUrl,
    dash: video.dashUrl,
    hls: video.hlsUrl,
    captions: video.captions,
    autoplay: options.autoplay,
    muted: options.muted,
    start,
    loop: options.loop,
  };
  const poster = video.posterUrl ? ` poster="${html(video.posterUrl)}"` : "";
  const attributes = [options.muted ? " muted" : "", options.loop ? " loop" : ""].join("");
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <meta name="robots" content="noindex" />
    <title>${html(video.title)}</title>
    <link rel="stylesheet" href="${EMBED_STYLESHEET}" />
    <script type="application/json" id="embed-data">${jsonForScript(data)}</script>
    <script type="module" src="${EMBED_SCRIPT}"></script>
  </head>
  <body class="embed">
    <div class="embed-player">
      <video id="video" controls playsinline preload="metadata"${poster}${attributes} aria-label="${html(video.title)}"></video>
      <div class="embed-bar" id="player-bar" hidden>
        <a class="embed-title" href="${html(video.watchUrl)}" target="_blank" rel="noopener">${html(video.title)}</a>
        <label for="quality">Quality</label>
        <select id="quality"><option value="auto">Auto</option></select>
        <label for="captions">Captions</label>
        <select id="captions"><option value="off">Off</option></select>
      </div>
      <p class="embed-notice" id="notice" role="status"></p>
    </div>
  </body>
</html>
`;
}

/** A CSP source for `frame-ancestors`: `*`, `'self'`, `'none'`, or an http(s) origin (a `*.` host wildcard allowed). */
const FRAME_SOURCE = /^(\*|'self'|'none'|https?:\/\/(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)*(:\d{1,5})?)$/i;

/** EMBED_ALLOWED_ORIGINS (comma or space separated) as `frame-ancestors` sources. */
export function parseFrameAncestors(
  setting: string | undefined,
): { ok: true; sources: string[] } | { ok: false; invalid: string[] } {
  const entries = (setting ?? DEFAULT_EMBED_ALLOWED_ORIGINS)
    .split(/[\s,]+/)
    .map((e) => e.replace(/\/+$/, ""))
    .filter(Boolean);
  if (entries.length === 0) return { ok: true, sources: [DEFAULT_EMBED_ALLOWED_ORIGINS] };
  const invalid = entries.filter((e) => !FRAME_SOURCE.test(e));
  if (invalid.length > 0) return { ok: false, invalid };
  // 'none' means no framing at all; mixed with other sources it would be ignored by browsers.
  if (entries.includes("'none'")) return { ok: true, sources: ["'none'"] };
  return { ok: true, sources: [...new Set(entries)] };
}

/**
 * The headers of the embed page: only this deployment's scripts, styles and media, framing by
 * the allowed ancestors (no X-Frame-Options, which would forbid every other site), and no
 * referrer beyond the origin for the requests the player makes.
 */
export function embedResponseHeaders(frameAncestors: readonly string[]): Record<string, string> {
  const csp = [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "media-src 'self' blob:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    `frame-ancestors ${frameAncestors.join(" ")}`,
  ].join("; ");
  return {
    "content-type": "text/html; charset=utf-8",
    "content-security-policy": csp,
    "referrer-policy": "strict-origin-when-cross-origin",
    "x-content-type-options": "nosniff",
    "cache-control": "private, max-age=60",
  };
}
