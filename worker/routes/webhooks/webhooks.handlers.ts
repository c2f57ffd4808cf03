import { eq } from "drizzle-orm";
import { ApiError } from "../../app/errors";
import type { AppRouteHandler } from "../../app/types";
import { currentUser } from "../../auth/authenticate";
import { users } from "../../db/schema";
import { newWebhookSecret, WEBHOOK_EVENT_TYPES, webhookUrlProblem } from "../../webhooks/webhooks";
import type * as routes from "./webhooks.routes";

const events = [...WEBHOOK_EVENT_TYPES];

export const getWebhook: AppRouteHandler<typeof routes.getWebhook> = async (c) => {
  const user = currentUser(c);
  const row = await c.var.db.select({ url: users.webhookUrl }).from(users).where(eq(users.id, user.id)).get();
  return c.json({ url: row?.url ?? null, events }, 200);
};

export const putWebhook: AppRouteHandler<typeof routes.putWebhook> = async (c) => {
  const user = currentUser(c);
  const { url } = c.req.valid("json");
  const problem = webhookUrlProblem(url, c.var.settings.environment === "production");
  if (problem) throw new ApiError("validation_error", problem, { details: [{ path: "url", message: problem }] });
  const secret = newWebhookSecret();
  await c.var.db
    .update(users)
    .set({ webhookUrl: url, webhookSecret: secret, updatedAt: new Date() })
    .where(eq(users.id, user.id));
  return c.json({ url, secret, events }, 200);
};

export const deleteWebhook: AppRouteHandler<typeof routes.deleteWebhook> = async (c) => {
  const user = currentUser(c);
  await c.var.db.update(users).set({ webhookUrl: null, webhookSecret: null }).where(eq(users.id, user.id));
  return c.body(null, 204);
};
