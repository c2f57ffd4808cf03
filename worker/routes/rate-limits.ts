/**
 * Which routes add a limit of their own to the general one, and which the general limit leaves
 * out: the whole rate-limit policy of the app in one table (README: "Rate limits").
 */
import type { RouteRateLimit } from "../middleware/rate-limit";
import { isManifestName } from "../playback/manifests";
import { TUS_PATH } from "../uploads/tus";

export const ROUTE_RATE_LIMITS: readonly RouteRateLimit[] = [
  // An upload counts against the daily uploads as well as the general limit.
  { methods: ["POST"], path: "/api/videos/upload", policy: "upload" },
  { methods: ["POST"], path: TUS_PATH, policy: "upload" },
  { methods: ["POST"], path: "/api/videos/direct-upload", policy: "upload" },
  { methods: ["POST"], path: "/api/videos/import", policy: "upload" },
  // A resumable upload's later requests (a 10 GiB upload is hundreds of them) were paid for by
  // its creation.
  { methods: ["GET", "HEAD", "PATCH", "DELETE"], path: `${TUS_PATH}/:id`, general: false },
  // Playback: manifests and playlists count against the streaming limit, media segments do not.
  { methods: ["GET", "HEAD"], path: "/v/:id/:file", policy: "stream", when: isManifestName },
  { methods: ["GET", "HEAD"], path: "/v/:id/t/:token/:file", policy: "stream", when: isManifestName },
  // Downloads count like manifests: each starts a whole copy of the video.
  { methods: ["GET", "HEAD"], path: "/v/:id/download/:file", policy: "stream" },
  { methods: ["GET", "HEAD"], path: "/v/:id/t/:token/download/:file", policy: "stream" },
];
