/**
 * The manifests as the Worker serves them, from the stored ones (as the encode wrote them):
 * pointed at their version's folder, with the video's caption tracks and, in the HLS master, the
 * audio-only variant. Captions live beside the versions, so adding one changes the served
 * manifests and nothing stored. Pure text functions.
 *
 *   servedMpd(mpd, versionBase, captions)          BaseURL, then one text/vtt set per track
 *   servedHlsMaster(master, versionPrefix, captions, audio)
 *                                                  URIs under the version, the audio-only
 *                                                  variant, one SUBTITLES rendition per track
 *   captionPlaylist(lang, duration)                the media playlist of one track
 *
 * Caption URLs are relative to where the manifests are served (`/v/{id}/…` or the signed
 * `/v/{id}/t/{token}/…`), so a signed manifest's tracks carry the token too: the MPD's BaseURL
 * points into the version folder, so its tracks step back out of it (`../captions_<lang>.vtt`).
 */
import {
  captionFileName,
  captionPlaylistName,
  hlsCaptionPlaylist,
  hlsMasterWithCaptions,
  mpdWithCaptions,
} from "../captions/tracks";
import type { CaptionKind } from "../db/schema";
import { hlsMasterWithAudioOnlyVariant } from "./hls-audio-variant";
import { m3u8WithPrefix, mpdWithBaseUrl } from "./manifests";

export interface ServedCaption {
  lang: string;
  label: string;
  kind: CaptionKind;
}

/** The MPD pointed at `versionBase` (ending with a slash), with a text AdaptationSet per caption track. */
export function servedMpd(mpd: string, versionBase: string, captions: readonly ServedCaption[]): string {
  return mpdWithCaptions(
    mpdWithBaseUrl(mpd, versionBase),
    captions.map((t) => ({ lang: t.lang, label: t.label, kind: t.kind, url: `../${captionFileName(t.lang)}` })),
  );
}

/**
 * The HLS master with its URIs under `versionPrefix`, the audio-only variant when the video has
 * audio (the audio rendition's own peak bandwidth and codecs), and a SUBTITLES group per track.
 */
export function servedHlsMaster(
  master: string,
  versionPrefix: string,
  captions: readonly ServedCaption[],
  audio: { bandwidth: number; codecs: string } | null,
): string {
  const prefixed = m3u8WithPrefix(master, versionPrefix);
  const withAudio = audio ? hlsMasterWithAudioOnlyVariant(prefixed, audio) : prefixed;
  return hlsMasterWithCaptions(
    withAudio,
    captions.map((t) => ({ lang: t.lang, label: t.label, kind: t.kind, url: captionPlaylistName(t.lang) })),
  );
}

/** The WebVTT media playlist of one caption track, served beside the master. */
export const captionPlaylist = (lang: string, durationSeconds: number) =>
  hlsCaptionPlaylist(captionFileName(lang), durationSeconds);
