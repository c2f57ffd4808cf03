/**
 * The playback URLs of a video, built in one place: `/v/<id>/…` for public and unlisted videos,
 * `/v/<id>/t/<token>/…` (a signed, expiring path) for private ones.
 */
import { thumbnailFrameAt } from "../../shared/storyboard-index";
import { captionFileName } from "../captions/tracks";
import type { Video } from "../db/schema";
import { mintPlaybackToken, parseSigningKeys } from "./tokens";

export interface PlaybackUrls {
  dash_url: string | null;
  hls_url: string | null;
  poster_url: string | null;
  /** The storyboard's WebVTT index, when the served version has one. */
  storyboard_url: string | null;
}

export const NO_PLAYBACK: PlaybackUrls = { dash_url: null, hls_url: null, poster_url: null, storyboard_url: null };

/** What the URLs of a video depend on besides where it is served. */
export type PlaybackSubject = Pick<Video, "id" | "duration" | "storyboard" | "posterTime">;

/** The folder every playback file of a video is served under. */
export const playbackBase = (origin: string, videoId: string, token?: string) =>
  token === undefined ? `${origin}/v/${videoId}` : `${origin}/v/${videoId}/t/${token}`;

/**
 * The poster: the stored frame the owner chose (its largest stored width), or the encode's own
 * poster when none was chosen or the served version has no thumbnails.
 */
export function posterUrlAt(base: string, video: PlaybackSubject): string {
  const { storyboard, posterTime, duration } = video;
  if (storyboard && posterTime !== null && duration !== null) {
    const widest = Math.max(...storyboard.thumbnails.sizes.map((s) => s.width));
    const frame = thumbnailFrameAt(storyboard, posterTime, duration, widest);
    if (frame) return thumbnailUrl(base, posterTime, frame.width);
  }
  return `${base}/poster.jpg`;
}

/** `thumbnail.jpg?time=S&width=W` under a playback folder. */
export const thumbnailUrl = (base: string, time: number, width?: number) =>
  `${base}/thumbnail.jpg?time=${time}${width === undefined ? "" : `&width=${width}`}`;

export const playbackUrlsAt = (base: string, video: PlaybackSubject) => ({
  dash_url: `${base}/manifest.mpd`,
  hls_url: `${base}/master.m3u8`,
  poster_url: posterUrlAt(base, video),
  storyboard_url: video.storyboard ? `${base}/storyboard.vtt` : null,
});

/** The embed page of a video; a private one's carries a playback token. */
export const embedUrl = (origin: string, videoId: string, token?: string) =>
  `${origin}/embed/${videoId}${token === undefined ? "" : `?token=${encodeURIComponent(token)}`}`;

/** A caption track's WebVTT file under a playback folder. */
export const captionUrl = (base: string, lang: string) => `${base}/${captionFileName(lang)}`;

/**
 * Where anyone may play a video: public and unlisted ones that are ready, or that `playsNow`
 * while processing; null otherwise.
 */
export function publicPlaybackBase(
  video: Pick<Video, "id" | "status" | "visibility">,
  origin: string,
  playsNow = video.status === "ready",
): string | null {
  if (!playsNow || video.visibility === "private") return null;
  return playbackBase(origin, video.id);
}

/**
 * The URLs of a video that plays while it is still processing: its manifests, which name the
 * whole video; its poster and storyboard are not there yet.
 */
export const provisionalUrlsAt = (base: string) =>
  ({
    dash_url: `${base}/manifest.mpd`,
    hls_url: `${base}/master.m3u8`,
    poster_url: null,
    storyboard_url: null,
  }) satisfies PlaybackUrls;

/** Playback URLs of a ready public or unlisted video; private ones get signed URLs. */
export function publicPlaybackUrls(video: Video, origin: string): PlaybackUrls {
  const base = publicPlaybackBase(video, origin);
  return base === null ? NO_PLAYBACK : playbackUrlsAt(base, video);
}

/** A signed playback path for `ttlSeconds`, with its token and expiry. */
export async function signedPlayback(signingKeys: string, video: PlaybackSubject, origin: string, ttlSeconds: number) {
  const expiresAt = Math.floor(Date.now() / 1000) + ttlSeconds;
  const token = await mintPlaybackToken(parseSigningKeys(signingKeys), video.id, expiresAt);
  const base = playbackBase(origin, video.id, token);
  return { token, expiresAt, base, urls: playbackUrlsAt(base, video) };
}
