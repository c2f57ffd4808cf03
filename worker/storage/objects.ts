/** Operations over many objects: pages of at most 1000 keys, as the bucket lists them. */

/** Every object under a prefix, a page at a time. */
export async function* listPrefix(bucket: R2Bucket, prefix: string): AsyncGenerator<{ key: string; size: number }> {
  let cursor: string | undefined;
  do {
    const page = await bucket.list({ prefix, cursor, limit: 1000 });
    for (const o of page.objects) yield { key: o.key, size: o.size };
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
}

/** Deletes every object under a prefix, a page (≤ 1000 keys) at a time. */
export async function deletePrefix(bucket: R2Bucket, prefix: string): Promise<number> {
  let deleted = 0;
  let cursor: string | undefined;
  do {
    const page = await bucket.list({ prefix, cursor, limit: 1000 });
    const keys = page.objects.map((o) => o.key);
    if (keys.length > 0) await bucket.delete(keys);
    deleted += keys.length;
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return deleted;
}

/** The names under a prefix that are missing from the bucket. */
export async function missingFiles(bucket: R2Bucket, prefix: string, names: string[]): Promise<string[]> {
  const present = new Set<string>();
  for await (const o of listPrefix(bucket, prefix)) present.add(o.key.slice(prefix.length));
  return names.filter((n) => !present.has(n));
}
