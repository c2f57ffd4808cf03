/**
 * One encode of a fixture with the transcoder's own command (plan, ffmpeg arguments), straight
 * into a directory, for tests that need real segments and manifests without the job pipeline;
 * and the downloads made from its segments.
 */
import { execFile } from "node:child_process";
import { readdir, readFile, writeFile } from "node:fs/promises";
import path, { join } from "node:path";
import { promisify } from "node:util";
import {
  AUDIO_DOWNLOAD_NAME,
  buildAudioDownloadCommand,
  buildDownloadCommand,
  downloadFileName,
  representationParts,
} from "../../transcoder/downloads.ts";
import { buildEncodeCommand, type EncodePlan, HLS_MEDIA_PLAYLIST_NAME, planEncode } from "../../transcoder/encode.ts";
import { type FfmpegCommandSpec, probeMedia, startFfmpeg } from "../../transcoder/ffmpeg.ts";
import { finishHlsMediaPlaylist } from "../../transcoder/manifest.ts";
import { assessSource, type SourceInfo } from "../../transcoder/source.ts";
import { TEST_PRESET } from "./harness.ts";

const run = promisify(execFile);

export interface EncodedFixture {
  source: SourceInfo;
  plan: EncodePlan;
  outDir: string;
  files: string[];
}

export interface EncodeFixtureOptions {
  maxHeight: number;
  /** Changes the command before it runs (extra outputs from the same decode). */
  extend?: (spec: FfmpegCommandSpec, plan: EncodePlan, source: SourceInfo) => FfmpegCommandSpec;
}

export async function encodeFixture(
  input: string,
  outDir: string,
  options: EncodeFixtureOptions,
): Promise<EncodedFixture> {
  const verdict = assessSource(await probeMedia(input, []), { maxDurationSeconds: 3600 });
  if (!verdict.ok) throw new Error(`${input}: ${verdict.message}`);
  const plan = planEncode(verdict.source, options.maxHeight);
  let spec = buildEncodeCommand(plan, { input, outDir, x264Preset: TEST_PRESET });
  if (options.extend) spec = options.extend(spec, plan, verdict.source);
  await startFfmpeg(spec).done;
  const files = await readdir(outDir);
  // As the pipeline does: VOD playlists without the encoder's wall-clock dates.
  for (const name of files.filter((n) => HLS_MEDIA_PLAYLIST_NAME.test(n))) {
    const path = join(outDir, name);
    await writeFile(path, finishHlsMediaPlaylist(await readFile(path, "utf8")));
  }
  return { source: verdict.source, plan, outDir, files: files.sort() };
}

/**
 * The downloads of an encode, as the finalize step makes them: each Representation joined into
 * one fragmented MP4, then copied with ffmpeg. Returns the paths of the rung MP4s and the M4A.
 */
export async function muxDownloads(
  encoded: EncodedFixture,
): Promise<{ videos: Map<number, string>; audio: string | null }> {
  const { outDir, files, plan } = encoded;
  const hasAudio = plan.audioStreamIndex !== null;
  const audioId = String(plan.rungs.length);
  const join = async (id: string) => {
    const out = path.join(outDir, `joined-${id}.mp4`);
    const parts = await Promise.all(representationParts(files, id).map((n) => readFile(path.join(outDir, n))));
    await writeFile(out, Buffer.concat(parts));
    return out;
  };
  const audioJoined = hasAudio ? await join(audioId) : null;
  const videos = new Map<number, string>();
  for (const [i, rung] of plan.rungs.entries()) {
    const out = path.join(outDir, downloadFileName(rung.height));
    const args = buildDownloadCommand(
      { source: await join(String(i)) },
      audioJoined ? { source: audioJoined } : null,
      out,
    );
    await run("ffmpeg", args);
    videos.set(rung.height, out);
  }
  let audio: string | null = null;
  if (audioJoined) {
    audio = path.join(outDir, AUDIO_DOWNLOAD_NAME);
    await run("ffmpeg", buildAudioDownloadCommand({ source: audioJoined }, audio));
  }
  return { videos, audio };
}
