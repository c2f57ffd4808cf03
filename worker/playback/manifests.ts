/**
 * Manifests are stored as the transcoder wrote them (relative URLs). When served from the stable
 * per-video paths they are pointed at the current version's folder, so every segment URL names
 * its version and can be cached as immutable.
 */

/** Adds `<BaseURL>` as the MPD's first child; `base` ends with a slash. */
export function mpdWithBaseUrl(mpd: string, base: string): string {
  const open = /<MPD\b[^>]*>/.exec(mpd);
  if (!open) return mpd;
  const at = open.index + open[0].length;
  const escaped = base.replaceAll("&", "&amp;").replaceAll("<", "&lt;");
  return `${mpd.slice(0, at)}\n  <BaseURL>${escaped}</BaseURL>${mpd.slice(at)}`;
}

/** Prefixes every relative URI of an HLS playlist (URI lines and URI="…" attributes) with `prefix`. */
export function m3u8WithPrefix(playlist: string, prefix: string): string {
  const isRelative = (uri: string) => !/^[a-z][a-z0-9+.-]*:/i.test(uri) && !uri.startsWith("/");
  return playlist
    .split("\n")
    .map((line) => {
      const trimmed = line.trim();
      if (trimmed === "") return line;
      if (trimmed.startsWith("#")) {
        return line.replace(/URI="([^"]+)"/g, (whole, uri: string) =>
          isRelative(uri) ? `URI="${prefix}${uri}"` : whole,
        );
      }
      return isRelative(trimmed) ? `${prefix}${trimmed}` : line;
    })
    .join("\n");
}

/** Manifests and playlists (what the streaming limit counts), as opposed to media segments. */
export const isManifestName = (name: string) => name.endsWith(".mpd") || name.endsWith(".m3u8");
