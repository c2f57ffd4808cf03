/**
 * Caption tracks added to the stored manifests when they are served, so adding or removing a
 * caption never touches the encode. Pure text functions over what ffmpeg's dash muxer writes.
 *
 *   mpdWithCaptions(mpd, tracks)            one `text/vtt` AdaptationSet per track (sidecar WebVTT,
 *                                           the shape dash.js and Shaka read: contentType="text",
 *                                           a Role, a Label, one Representation whose BaseURL is
 *                                           the .vtt)
 *   hlsMasterWithCaptions(master, tracks)   an EXT-X-MEDIA TYPE=SUBTITLES rendition per track in
 *                                           group HLS_SUBTITLE_GROUP, SUBTITLES="…" on every variant
 *   hlsCaptionPlaylist(vttUri, duration)    the WebVTT media playlist of one track: the whole file
 *                                           as its one segment
 *   vttWithTimestampMap(vtt, mpegTs)        the file with X-TIMESTAMP-MAP in its header; DASH
 *                                           players skip that header line, so one served file
 *                                           fits both (proved in test/players/captions)
 *   captionPlaylistName(lang)               "captions_<lang>.m3u8"
 *   captionFileName(lang)                   "captions_<lang>.vtt", the file both players fetch
 *   CAPTION_PLAYBACK_NAME                   matches either name; group 1 is the tag
 *
 * Timing: our fMP4 segments start at baseMediaDecodeTime 0 on every track (the edit list takes
 * the encoder delay out), so cue times are media times as they are. hls.js reads cues without
 * X-TIMESTAMP-MAP relative to the first segment's decode time, and Apple's players want the map
 * for every WebVTT segment; `vttWithTimestampMap(vtt, 0)` states the same mapping for both.
 */

export interface CaptionTrack {
  /** A normalised BCP 47 tag (see language.ts). */
  lang: string;
  label: string;
  /** Where the .vtt (DASH) or the media playlist (HLS) is; relative URLs resolve as usual. */
  url: string;
  /** "subtitles" (the default: dialogue, for viewers who hear) or "captions" (also sounds). */
  kind?: "subtitles" | "captions";
}

export const HLS_SUBTITLE_GROUP = "subs";

export const captionPlaylistName = (lang: string) => `captions_${lang}.m3u8`;
export const captionFileName = (lang: string) => `captions_${lang}.vtt`;
/** A caption file or playlist as served beside the manifests (the tag still needs checking). */
export const CAPTION_PLAYBACK_NAME = /^captions_([A-Za-z0-9-]{1,64})\.(vtt|m3u8)$/;

const xmlEscape = (text: string) =>
  text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;");

/** An HLS quoted-string may hold neither a double quote nor a line break. */
const hlsQuoted = (text: string) => `"${text.replace(/["\r\n]/g, (c) => (c === '"' ? "'" : " "))}"`;

/**
 * The MPD with one sidecar-WebVTT AdaptationSet per track, after the existing ones in the first
 * Period. Ids continue after the highest numeric AdaptationSet id; Representation ids are
 * `text-<lang>`, unique because a video has one track per language.
 */
export function mpdWithCaptions(mpd: string, tracks: readonly CaptionTrack[]): string {
  if (tracks.length === 0) return mpd;
  const periodEnd = mpd.indexOf("</Period>");
  if (periodEnd < 0) return mpd;
  const ids = [...mpd.matchAll(/<AdaptationSet\b[^>]*\bid="(\d+)"/g)].map((m) => Number(m[1]));
  let nextId = ids.length > 0 ? Math.max(...ids) + 1 : 0;
  // Match the indentation ffmpeg uses for its AdaptationSets (tabs), so the result reads well.
  const indent = /\n([ \t]*)<AdaptationSet\b/.exec(mpd)?.[1] ?? "\t\t";
  const inner = `${indent}\t`;
  const sets = tracks.map((track) => {
    const role = track.kind === "captions" ? "caption" : "subtitle";
    return [
      `${indent}<AdaptationSet id="${nextId++}" contentType="text" mimeType="text/vtt" lang="${xmlEscape(track.lang)}">`,
      `${inner}<Role schemeIdUri="urn:mpeg:dash:role:2011" value="${role}" />`,
      `${inner}<Label>${xmlEscape(track.label)}</Label>`,
      `${inner}<Representation id="text-${xmlEscape(track.lang)}" bandwidth="256">`,
      `${inner}\t<BaseURL>${xmlEscape(track.url)}</BaseURL>`,
      `${inner}</Representation>`,
      `${indent}</AdaptationSet>`,
    ].join("\n");
  });
  const lineStart = mpd.lastIndexOf("\n", periodEnd) + 1;
  return `${mpd.slice(0, lineStart)}${sets.join("\n")}\n${mpd.slice(lineStart)}`;
}

/**
 * The HLS master with a SUBTITLES rendition per track (NAMEs made unique, as the group needs)
 * and every EXT-X-STREAM-INF pointing at the group. No track is DEFAULT; AUTOSELECT lets a
 * player pick the one matching its user's language.
 */
export function hlsMasterWithCaptions(master: string, tracks: readonly CaptionTrack[]): string {
  if (tracks.length === 0) return master;
  const names = new Set<string>();
  const media = tracks.map((track) => {
    let name = track.label;
    if (names.has(name)) name = `${track.label} (${track.lang})`;
    names.add(name);
    const characteristics =
      track.kind === "captions"
        ? ',CHARACTERISTICS="public.accessibility.transcribes-spoken-dialog,public.accessibility.describes-music-and-sound"'
        : "";
    return (
      `#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="${HLS_SUBTITLE_GROUP}",NAME=${hlsQuoted(name)},` +
      `LANGUAGE=${hlsQuoted(track.lang)},DEFAULT=NO,AUTOSELECT=YES,FORCED=NO${characteristics},URI=${hlsQuoted(track.url)}`
    );
  });
  const lines = master.split("\n");
  const firstVariant = lines.findIndex((l) => l.startsWith("#EXT-X-STREAM-INF:"));
  const out: string[] = [];
  lines.forEach((line, i) => {
    if (i === firstVariant) out.push(...media);
    if (line.startsWith("#EXT-X-STREAM-INF:") && !line.includes("SUBTITLES=")) {
      out.push(`${line},SUBTITLES="${HLS_SUBTITLE_GROUP}"`);
    } else {
      out.push(line);
    }
  });
  if (firstVariant < 0) out.push(...media);
  return out.join("\n");
}

/**
 * The media playlist of one caption track: the whole .vtt is its one segment, so the target
 * duration is the video's duration rounded up (HLS lets SUBTITLES renditions differ from the
 * video's target duration in VOD).
 */
export function hlsCaptionPlaylist(vttUri: string, durationSeconds: number): string {
  const duration = Math.max(durationSeconds, 0.001);
  return [
    "#EXTM3U",
    "#EXT-X-VERSION:3",
    `#EXT-X-TARGETDURATION:${Math.ceil(duration)}`,
    "#EXT-X-MEDIA-SEQUENCE:0",
    "#EXT-X-PLAYLIST-TYPE:VOD",
    `#EXTINF:${duration.toFixed(3)},`,
    vttUri,
    "#EXT-X-ENDLIST",
    "",
  ].join("\n");
}

/**
 * A (validated, normalised) WebVTT file with `X-TIMESTAMP-MAP=MPEGTS:<mpegTs>,LOCAL:00:00:00.000`
 * as its first header line, replacing one already there: cue time 0 is the media time whose
 * 90 kHz clock value is `mpegTs` (0 for segments starting at baseMediaDecodeTime 0).
 */
export function vttWithTimestampMap(vtt: string, mpegTs = 0): string {
  const lines = vtt.split("\n");
  const headerEnd = lines.indexOf("");
  const end = headerEnd < 0 ? lines.length : headerEnd;
  const header = lines.slice(1, end).filter((l) => !l.startsWith("X-TIMESTAMP-MAP="));
  const map = `X-TIMESTAMP-MAP=MPEGTS:${Math.max(0, Math.round(mpegTs))},LOCAL:00:00:00.000`;
  return [lines[0], map, ...header, ...lines.slice(end)].join("\n");
}
