import { createRoute, z } from "@hono/zod-openapi";
import { openApiErrorResponses } from "../../app/errors";
import { API_KEY_SECURITY } from "../../app/openapi";
import { requireUser } from "../../middleware/auth";

const tags = ["Webhooks"];

export const WebhookSchema = z
  .object({
    url: z.string().nullable(),
    secret: z
      .string()
      .optional()
      .openapi({
        description:
          "Shown only when the webhook is set: `whsec_` and base64, a Standard Webhooks secret; it verifies " +
          "`webhook-signature` and `StreamBuddy-Signature`.",
      }),
    events: z.array(z.string()),
  })
  .openapi("Webhook");

const description =
  "Events `video.ready` and `video.failed` are POSTed as JSON `{id, type, created_at, data: <video>}`, signed " +
  "the Standard Webhooks way (`webhook-id`, `webhook-timestamp`, " +
  '`webhook-signature: v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`, keyed with the base64-decoded ' +
  "part of the secret after `whsec_`; any Standard Webhooks library verifies it) and with " +
  '`StreamBuddy-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the whole secret>`. ' +
  "Any 2xx answer acknowledges; anything else is retried with back-off (1 min up to 1 h, 8 attempts). " +
  "In production the URL must be https on a public host.";

export const getWebhook = createRoute({
  method: "get",
  path: "/api/webhook",
  tags,
  summary: "The caller's webhook",
  description,
  middleware: [requireUser()] as const,
  security: API_KEY_SECURITY,
  responses: {
    200: {
      description: "The webhook (url null when none)",
      content: { "application/json": { schema: WebhookSchema } },
    },
    ...openApiErrorResponses,
  },
});

export const putWebhook = createRoute({
  method: "put",
  path: "/api/webhook",
  tags,
  summary: "Set the caller's webhook URL; a new secret is returned",
  description,
  middleware: [requireUser()] as const,
  security: API_KEY_SECURITY,
  request: {
    body: {
      required: true,
      content: {
        "application/json": { schema: z.object({ url: z.string().min(1).max(2048) }).openapi("WebhookUpdate") },
      },
    },
  },
  responses: {
    200: { description: "Set", content: { "application/json": { schema: WebhookSchema } } },
    ...openApiErrorResponses,
  },
});

export const deleteWebhook = createRoute({
  method: "delete",
  path: "/api/webhook",
  tags,
  summary: "Remove the caller's webhook",
  middleware: [requireUser()] as const,
  security: API_KEY_SECURITY,
  responses: { 204: { description: "Removed" }, ...openApiErrorResponses },
});
