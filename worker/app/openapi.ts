import type { AppOpenAPI } from "./types";

/** Either scheme, as OpenAPI `security` on authenticated routes. */
export const API_KEY_SECURITY: Record<string, string[]>[] = [{ Token: [] }, { Bearer: [] }];

/** How a private video's playback files are reached, said the same way in every playback entry. */
export const PRIVATE_PLAYBACK_NOTE =
  "A private video's are under its signed path (`/v/{id}/t/{token}/…`, from " +
  "`POST /api/videos/{id}/playback-token/`), or reached with its owner's key; others get 404.";

/** The two ways to present a key, in the API description. */
export function registerSecuritySchemes(app: AppOpenAPI) {
  app.openAPIRegistry.registerComponent("securitySchemes", "Token", {
    type: "apiKey",
    in: "header",
    name: "Authorization",
    description: "`Authorization: Token <key>`, with the key from registration or login.",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "Bearer", {
    type: "http",
    scheme: "bearer",
    description: "`Authorization: Bearer <key>`: the same key, in the Bearer scheme.",
  });
}
