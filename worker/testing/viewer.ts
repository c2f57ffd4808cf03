/**
 * Stored files of the viewer features for Worker tests: what an encode writes besides the stream
 * (storyboard sheets, thumbnails, downloads; real JPEG, MP4 and M4A bytes from
 * test/fixtures/viewer/), ffmpeg's real manifests, and caption tracks added through the API.
 */
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import type { Storyboard } from "../../shared/protocol";
import { saveCaption } from "../captions/captions.data";
import { vttWithTimestampMap } from "../captions/tracks";
import { videos } from "../db/schema";
import { captionKey } from "../storage/keys";
import { FFMPEG_HLS_MASTER, FFMPEG_MPD } from "./ffmpeg-manifests";
import { seedReadyVideo, testDb, tinyMp4 } from "./seed";

/** A stored-file fixture of test/fixtures/viewer/ (JPEG frames, an M4A), as bytes. */
export function viewerFixture(name: string): Uint8Array {
  const fixtures = (env as unknown as { TEST_VIEWER_FIXTURES: Record<string, string> }).TEST_VIEWER_FIXTURES;
  const b64 = fixtures[name];
  if (b64 === undefined) throw new Error(`no viewer fixture ${name}`);
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

/** The layout of {@link seedStoryboard}: for an 8-second video, frames every 2 s (0, 2, 4, 6). */
export const STORYBOARD_FIXTURE: Storyboard = {
  interval: 2,
  tileWidth: 160,
  tileHeight: 90,
  columns: 10,
  rows: 10,
  thumbnails: {
    interval: 2,
    sizes: [
      { width: 320, height: 180 },
      { width: 640, height: 360 },
    ],
  },
  parts: [0],
};

/** Thumbnail frame k is this colour at 320 wide, and the colour at 3 - k at 640, so each file differs. */
export const FRAME_COLOURS = ["red", "green", "blue", "white"] as const;

/**
 * Gives a seeded ready video (8 s, rungs 720p and 480p with audio) what the encode makes besides
 * the stream: the storyboard layout in D1, its sheet and the thumbnails (real JPEGs) and the
 * downloads (real MP4 and M4A) in R2. `downloadable` is the owner's choice and stays as it was.
 */
export async function seedStoryboard(video: { id: string; version: string }) {
  const prefix = `videos/${video.id}/${video.version}/`;
  const files: Record<string, Uint8Array> = {
    "storyboard-0.jpg": viewerFixture("sheet.jpg"),
    "download-720p.mp4": tinyMp4(),
    "download-480p.mp4": tinyMp4(),
    "download-audio.m4a": viewerFixture("audio.m4a"),
  };
  FRAME_COLOURS.forEach((colour, k) => {
    files[`thumb-320-${k}.jpg`] = viewerFixture(`${colour}.jpg`);
    files[`thumb-640-${k}.jpg`] = viewerFixture(`${FRAME_COLOURS[3 - k]}.jpg`);
  });
  for (const [name, body] of Object.entries(files)) await env.MEDIA.put(`${prefix}${name}`, body);
  await testDb().update(videos).set({ storyboard: STORYBOARD_FIXTURE }).where(eq(videos.id, video.id));
  return { files };
}

/**
 * A ready video (see seedReadyVideo) whose manifests are what ffmpeg really writes, so caption
 * tracks and the audio-only variant have their real places to go.
 */
export async function seedPlayableVideo(overrides: Parameters<typeof seedReadyVideo>[0] = {}) {
  const video = await seedReadyVideo(overrides);
  await env.MEDIA.put(`${video.prefix}manifest.mpd`, FFMPEG_MPD);
  await env.MEDIA.put(`${video.prefix}master.m3u8`, FFMPEG_HLS_MASTER);
  return video;
}

/** A WebVTT file with two cues, as an uploader writes one. */
export const ENGLISH_VTT = `WEBVTT

00:00:01.000 --> 00:00:02.500
Hello there

00:00:04.000 --> 00:00:06.000 align:start
The second cue
`;

/**
 * Everything a viewer may ask of a seeded ready video: its storyboard, thumbnails and downloads
 * (and `downloadable`), and an `en-US` caption track, as the captions API stores one.
 */
export async function seedViewerFeatures(video: { id: string; version: string }) {
  await seedStoryboard(video);
  await testDb().update(videos).set({ downloadable: true }).where(eq(videos.id, video.id));
  const vtt = vttWithTimestampMap(ENGLISH_VTT, 0);
  await env.MEDIA.put(captionKey(video.id, "en-US"), vtt);
  await saveCaption(testDb(), {
    videoId: video.id,
    lang: "en-US",
    label: "American English",
    kind: "subtitles",
    size: vtt.length,
  });
}
