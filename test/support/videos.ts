/** Test videos for end-to-end tests and benchmarks: made by ffmpeg, uploaded like a user does. */
import { execFileSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import type { Account } from "./platform.ts";

/** A `seconds`-long test clip (`width`x`height`, 30 fps, stereo tone unless `audio: false`), made by ffmpeg. */
export function makeClip(path: string, clip: { seconds: number; width: number; height: number; audio?: boolean }) {
  const { seconds, width, height } = clip;
  const audio =
    clip.audio === false
      ? []
      : [
          ...["-f", "lavfi", "-i", `sine=frequency=440:sample_rate=48000:duration=${seconds}`],
          "-ac",
          "2",
          "-c:a",
          "aac",
        ];
  execFileSync("ffmpeg", [
    ...["-hide_banner", "-loglevel", "error", "-y"],
    ...["-f", "lavfi", "-i", `testsrc2=size=${width}x${height}:rate=30:duration=${seconds}`],
    ...audio,
    ...["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-shortest", path],
  ]);
  return path;
}

/**
 * A long test clip made cheaply: a few seconds of {@link makeClip}'s picture (and tone) encoded
 * once, then repeated by stream copy to `seconds`. Its keyframes are every 2 s.
 */
export function makeLongClip(path: string, clip: { seconds: number; width: number; height: number }) {
  const piece = `${path}.piece.mp4`;
  execFileSync("ffmpeg", [
    ...["-hide_banner", "-loglevel", "error", "-y"],
    ...["-f", "lavfi", "-i", `testsrc2=size=${clip.width}x${clip.height}:rate=30:duration=6`],
    ...["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=6", "-ac", "2", "-c:a", "aac"],
    // Small enough for the classic endpoint even at 1080p for minutes.
    ...["-c:v", "libx264", "-preset", "veryfast", "-crf", "34", "-g", "60", "-pix_fmt", "yuv420p", "-shortest", piece],
  ]);
  execFileSync("ffmpeg", [
    ...["-hide_banner", "-loglevel", "error", "-y"],
    ...[
      "-stream_loop",
      String(Math.ceil(clip.seconds / 6)),
      "-i",
      piece,
      "-c",
      "copy",
      "-t",
      String(clip.seconds),
      path,
    ],
  ]);
  rmSync(piece, { force: true });
  return path;
}

/** Uploads a file through the classic multipart endpoint; resolves with the new (queued) video. */
export async function uploadVideo(
  api: string,
  account: Account,
  path: string,
  title: string,
  extra: Record<string, string> = {},
) {
  const form = new FormData();
  form.append("title", title);
  for (const [k, v] of Object.entries(extra)) form.append(k, v);
  form.append("file", new Blob([readFileSync(path)], { type: "video/mp4" }), "clip.mp4");
  const res = await fetch(`${api}/api/videos/upload/`, { method: "POST", headers: account.auth, body: form });
  if (res.status !== 201) throw new Error(`upload of ${title}: ${res.status} ${await res.text()}`);
  return (await res.json()) as { id: string; slug: string; status: string };
}
