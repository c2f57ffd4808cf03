import type { AppRouteHandler } from "../../app/types";
import type * as routes from "./config.routes";

export const getConfig: AppRouteHandler<typeof routes.getConfig> = (c) =>
  c.json(
    {
      max_upload_size: c.var.settings.maxUploadSize,
      direct_uploads: c.var.services.storage.canPresign,
      imports: true as const,
    },
    200,
  );
