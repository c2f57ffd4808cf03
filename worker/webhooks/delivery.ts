/** The `webhooks` queue consumer: one signed POST per message, retried with back-off. */
import { eq } from "drizzle-orm";
import type { Logger } from "../app/logger";
import type { Settings } from "../app/settings";
import { captionsOf } from "../captions/captions.data";
import type { Database } from "../db/client";
import { users } from "../db/schema";
import { NO_PLAYBACK, playbackUrlsAt, publicPlaybackBase } from "../playback/urls";
import { findVideo, renditionsOf, serializeVideo } from "../videos/videos.data";
import { WebhookMessageSchema, webhookRetryDelay, webhookSignatureHeaders, webhookUrlProblem } from "./webhooks";

export interface DeliveryDeps {
  db: Database;
  settings: Settings;
  logger: Logger;
  fetch?: typeof fetch;
}

const TIMEOUT_MS = 10_000;

export async function deliverWebhook(message: Message<unknown>, deps: DeliveryDeps) {
  const { db, settings, logger } = deps;
  const parsed = WebhookMessageSchema.safeParse(message.body);
  if (!parsed.success) return message.ack();
  const event = parsed.data;
  const log = logger.child({
    videoId: event.videoId,
    userId: event.userId,
    event: event.type,
    delivery: message.attempts,
  });
  const user = await db
    .select({ id: users.id, username: users.username, url: users.webhookUrl, secret: users.webhookSecret })
    .from(users)
    .where(eq(users.id, event.userId))
    .get();
  const video = await findVideo(db, event.videoId);
  if (!user?.url || !user.secret || !video) return message.ack();
  const problem = webhookUrlProblem(user.url, settings.environment === "production");
  if (problem) {
    log.warn("webhook not sent", { reason: problem });
    return message.ack();
  }
  const origin = settings.publicBaseUrl;
  const base = origin ? publicPlaybackBase(video, origin) : null;
  const body = JSON.stringify({
    id: message.id,
    type: event.type,
    created_at: event.occurredAt,
    data: serializeVideo(video, await renditionsOf(db, video), user, base ? playbackUrlsAt(base, video) : NO_PLAYBACK, {
      captions: await captionsOf(db, video.id),
      base,
    }),
  });
  // The queue message's id stays the same across retries, so receivers can drop a repeat.
  const signed = await webhookSignatureHeaders(user.secret, {
    id: message.id,
    body,
    timestamp: Math.floor(Date.now() / 1000),
  });
  const doFetch = deps.fetch ?? ((input, init) => fetch(input, init));
  try {
    const res = await doFetch(user.url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "user-agent": "StreamBuddy-Webhooks/1",
        ...signed,
      },
      body,
      redirect: "manual",
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    if (res.status >= 200 && res.status < 300) {
      log.info("webhook delivered", { status: res.status });
      return message.ack();
    }
    throw new Error(`answered ${res.status}`);
  } catch (err) {
    const delaySeconds = webhookRetryDelay(message.attempts);
    log.warn("webhook failed", { error: String(err), retryInSeconds: delaySeconds });
    message.retry({ delaySeconds });
  }
}
