/**
 * One encode of a fixture with the transcoder's own command (plan, ffmpeg arguments), straight
 * into a directory, for tests that need real segments and manifests without the job pipeline.
 */
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { buildEncodeCommand, type EncodePlan, HLS_MEDIA_PLAYLIST_NAME, planEncode } from "../../transcoder/encode.ts";
import { type FfmpegCommandSpec, probeMedia, startFfmpeg } from "../../transcoder/ffmpeg.ts";
import { finishHlsMediaPlaylist } from "../../transcoder/manifest.ts";
import { assessSource, type SourceInfo } from "../../transcoder/source.ts";
import { TEST_PRESET } from "./harness.ts";

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
