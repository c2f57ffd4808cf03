import type { AppOpenAPI } from "./types";

/** Either scheme, as OpenAPI `security` on authenticated routes. */
export const API_KEY_SECURITY: Record<string, string[]>[] = [{ Token: [] }, { Bearer: [] }];

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
