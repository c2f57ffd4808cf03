/** Rows for Worker tests, written through the same schema the app uses. */
import { env } from "cloudflare:workers";
import { createDb } from "../db/client";
import { users, type Video, videos } from "../db/schema";

export const testDb = () => createDb(env.DB);

export async function seedUser(name = `user${crypto.randomUUID().slice(0, 8)}`) {
  const id = crypto.randomUUID();
  await testDb()
    .insert(users)
    .values({ id, username: name, email: `${name}@example.com`, passwordHash: "pbkdf2_sha256$1$x$y" });
  return { id, username: name };
}

export async function seedVideo(overrides: Partial<Video> = {}) {
  const owner = overrides.ownerId ? { id: overrides.ownerId } : await seedUser();
  const id = overrides.id ?? crypto.randomUUID();
  const row = {
    id,
    slug: overrides.slug ?? `video-${id.slice(0, 8)}`,
    ownerId: owner.id,
    title: overrides.title ?? "A test video",
    status: overrides.status ?? ("queued" as const),
    ...overrides,
  };
  await testDb().insert(videos).values(row);
  return row;
}
