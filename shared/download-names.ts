/**
 * The names of the download files, shared by the transcoder (which writes them into a version's
 * folder at finalize) and the Worker (which serves them at `/v/{id}/download/…`). Erasable
 * TypeScript, no imports.
 *
 *   downloadFileName(height)   "download-<height>p.mp4": a rung's video with the audio
 *   AUDIO_DOWNLOAD_NAME        "download-audio.m4a": the audio alone
 *   DOWNLOAD_FILE_NAME         matches both; group 1 is the height of an MP4
 */
export const AUDIO_DOWNLOAD_NAME = "download-audio.m4a";
export const downloadFileName = (height: number) => `download-${height}p.mp4`;
/** A download file, as the Worker's routes look them up. */
export const DOWNLOAD_FILE_NAME = /^download-(?:(\d+)p\.mp4|audio\.m4a)$/;
