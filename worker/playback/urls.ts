/**
 * The playback URLs of a video, built in one place: `/v/<id>/…` for public and unlisted videos,
 * `/v/<id>/t/<token>/…` (a signed, expiring path) for private ones.
 */
import type { Video } from "../db/schema";
import { mintPlaybackToken, parseSigningKeys } from "./tokens";

export interface PlaybackUrls {
  dash_url: string | null;
  hls_url: string | null;
  poster_url: string | null;
}

export const NO_PLAYBACK: PlaybackUrls = { dash_url: null, hls_url: null, poster_url: null };

/** The folder every playback file of a video is served under. */
export const playbackBase = (origin: string, videoId: string, token?: string) =>
  token === undefined ? `${origin}/v/${videoId}` : `${origin}/v/${videoId}/t/${token}`;

export const playbackUrlsAt = (base: string) => ({
  dash_url: `${base}/manifest.mpd`,
  hls_url: `${base}/master.m3u8`,
  poster_url: `${base}/poster.jpg`,
});

/** Playback URLs of a ready public or unlisted video; private ones get signed URLs. */
export function publicPlaybackUrls(video: Video, origin: string): PlaybackUrls {
  if (video.status !== "ready" || video.visibility === "private") return NO_PLAYBACK;
  return playbackUrlsAt(playbackBase(origin, video.id));
}

/** A signed playback path for `ttlSeconds`, with its token and expiry. */
export async function signedPlayback(signingKeys: string, videoId: string, origin: string, ttlSeconds: number) {
  const expiresAt = Math.floor(Date.now() / 1000) + ttlSeconds;
  const token = await mintPlaybackToken(parseSigningKeys(signingKeys), videoId, expiresAt);
  const base = playbackBase(origin, videoId, token);
  return { token, expiresAt, base, urls: playbackUrlsAt(base) };
}
