/**
 * Where everything lives in the bucket. Every key the platform writes is built here:
 *
 *   sources/<videoId>                 the uploaded original
 *   uploads/<uploadId>/tail           bytes of a resumable upload held back until a part is full
 *   videos/<videoId>/<version>/<file> one output version (manifests, segments, poster)
 *   videos/<videoId>/captions/<lang>.vtt a caption track: beside the versions, not in one, so
 *                                     captions need no encode and outlive reprocessing
 *
 * The upload id is the video id (a tus upload's Location names its video).
 */
export const sourceKey = (videoId: string) => `sources/${videoId}`;
export const uploadPrefix = (uploadId: string) => `uploads/${uploadId}/`;
export const tailKey = (uploadId: string) => `${uploadPrefix(uploadId)}tail`;
export const videoPrefix = (videoId: string) => `videos/${videoId}/`;
export const versionPrefix = (videoId: string, version: string) => `${videoPrefix(videoId)}${version}/`;
export const captionKey = (videoId: string, lang: string) => `${videoPrefix(videoId)}captions/${lang}.vtt`;
export const outputKey = (videoId: string, version: string, file: string) =>
  `${versionPrefix(videoId, version)}${file}`;

/** Every place a video's objects can be: its source (one key), its outputs and its upload (prefixes). */
export const videoLocations = (videoId: string) => ({
  source: sourceKey(videoId),
  prefixes: [videoPrefix(videoId), uploadPrefix(videoId)],
});
