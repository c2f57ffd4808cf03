/**
 * Walks over every object under a key prefix, a page (≤ 1000 keys) at a time. Typed by what they
 * need of a store, which the R2 binding has too, so callers may pass either.
 */
import { MAX_KEYS_PER_REQUEST } from "./store";

export interface PrefixStore {
  list(options: {
    prefix: string;
    cursor?: string;
    limit?: number;
  }): Promise<{ objects: { key: string; size: number }[]; truncated: boolean; cursor?: string }>;
  delete(keys: string[]): Promise<unknown>;
}

/** Every object under `prefix`, in key order. */
export async function* listPrefix(
  store: Pick<PrefixStore, "list">,
  prefix: string,
): AsyncGenerator<{ key: string; size: number }> {
  let cursor: string | undefined;
  do {
    const page = await store.list({ prefix, cursor, limit: MAX_KEYS_PER_REQUEST });
    for (const object of page.objects) yield { key: object.key, size: object.size };
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
}

/** Deletes every object under a prefix; answers how many there were. */
export async function deletePrefix(store: PrefixStore, prefix: string): Promise<number> {
  let deleted = 0;
  let cursor: string | undefined;
  do {
    const page = await store.list({ prefix, cursor, limit: MAX_KEYS_PER_REQUEST });
    const keys = page.objects.map((o) => o.key);
    if (keys.length > 0) await store.delete(keys);
    deleted += keys.length;
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return deleted;
}

/** The names (keys less the prefix) that are not stored under the prefix. */
export async function missingFiles(
  store: Pick<PrefixStore, "list">,
  prefix: string,
  names: string[],
): Promise<string[]> {
  const present = new Set<string>();
  for await (const object of listPrefix(store, prefix)) present.add(object.key.slice(prefix.length));
  return names.filter((n) => !present.has(n));
}
