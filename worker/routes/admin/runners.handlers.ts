import { eq } from "drizzle-orm";
import { laterFor } from "../../app/background";
import { ApiError } from "../../app/errors";
import type { AppRouteHandler } from "../../app/types";
import { runners } from "../../db/schema";
import { revokeRunner as revoke } from "../../transcode/lifecycle";
import { createRemoteRunner, listRunners as list, serializeRunner } from "../../transcode/runners";
import type * as routes from "./runners.routes";

export const createRunner: AppRouteHandler<typeof routes.createRunner> = async (c) => {
  const { name } = c.req.valid("json");
  const { runner, token } = await createRemoteRunner(c.var.db, name);
  c.var.logger.info("runner created", { runnerId: runner.id, name });
  return c.json({ ...serializeRunner({ runner, held: 0, current: null }), token }, 201);
};

export const listRunners: AppRouteHandler<typeof routes.listRunners> = async (c) => {
  const rows = await list(c.var.db);
  return c.json({ results: rows.map(serializeRunner) }, 200);
};

export const revokeRunner: AppRouteHandler<typeof routes.revokeRunner> = async (c) => {
  const { id } = c.req.valid("param");
  const known = await c.var.db.select({ id: runners.id }).from(runners).where(eq(runners.id, id)).get();
  if (!known) throw new ApiError("not_found", "No such runner");
  await revoke({ ...c.var.services, later: laterFor(c) }, id);
  return c.body(null, 204);
};
