/**
 * The audio-only variant of the HLS master: the audio media playlist ffmpeg already wrote,
 * offered as one more EXT-X-STREAM-INF (after the video variants, with the audio's own peak
 * BANDWIDTH), so a player on a poor connection or in the background can keep only the sound.
 *
 *   hlsMasterWithAudioOnlyVariant(master) → the master with the variant, or unchanged when it has
 *                                           no audio rendition or already offers one
 *
 * The audio rendition is found in the master itself (`#EXT-X-MEDIA:TYPE=AUDIO,…,URI="…"`); the
 * caller passes its peak bandwidth and codecs (the audio Representation's in the MPD, or the
 * recorded audio rendition), since the master's BANDWIDTH values are video and audio summed.
 */

/** The master with an audio-only variant pointing at the audio rendition's playlist. */
export function hlsMasterWithAudioOnlyVariant(master: string, audio: { bandwidth: number; codecs: string }): string {
  const lines = master.split("\n");
  const rendition = lines.find((l) => l.startsWith("#EXT-X-MEDIA:") && l.includes("TYPE=AUDIO"));
  const uri = rendition ? /URI="([^"]+)"/.exec(rendition)?.[1] : undefined;
  if (!uri) return master;
  // A variant whose URI is the audio playlist already exists: nothing to add.
  if (lines.some((l, i) => l.trim() === uri && lines[i - 1]?.startsWith("#EXT-X-STREAM-INF:"))) return master;
  const variant = `#EXT-X-STREAM-INF:BANDWIDTH=${Math.max(1, Math.round(audio.bandwidth))},CODECS="${audio.codecs.replace(/"/g, "")}"`;
  const end = lines.length > 0 && lines.at(-1) === "" ? lines.length - 1 : lines.length;
  return [...lines.slice(0, end), variant, uri, ...lines.slice(end)].join("\n");
}
