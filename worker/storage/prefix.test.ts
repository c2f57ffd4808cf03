import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { freshPrefix, testBackends } from "../testing/storage";
import { deletePrefix, listPrefix, missingFiles, type PrefixStore } from "./prefix";

type Target = PrefixStore & { put(key: string, value: string): Promise<unknown> };

const targets: { name: string; store: Target }[] = [
  ...testBackends().map(({ name, store }) => ({ name: `the ${name} store`, store })),
  { name: "the R2 binding itself", store: env.MEDIA },
];

describe.each(targets)("prefix walks over $name", ({ store }) => {
  it("list, find missing names and delete everything under a prefix, past one page, and nothing beside it", async () => {
    const prefix = freshPrefix("prefix");
    const names = Array.from({ length: 1002 }, (_, i) => `chunk-0-${String(i).padStart(5, "0")}.m4s`);
    for (let i = 0; i < names.length; i += 50) {
      await Promise.all(names.slice(i, i + 50).map((name) => store.put(`${prefix}${name}`, name)));
    }
    const beside = `${prefix.slice(0, -1)}-other/kept`;
    await store.put(beside, "kept");

    const listed: string[] = [];
    for await (const object of listPrefix(store, prefix)) listed.push(object.key);
    expect(listed).toEqual(names.map((name) => `${prefix}${name}`));

    expect(await missingFiles(store, prefix, [names[0] ?? "", "manifest.mpd", names[1001] ?? ""])).toEqual([
      "manifest.mpd",
    ]);
    expect(await deletePrefix(store, prefix)).toBe(1002);
    expect(await missingFiles(store, prefix, names.slice(0, 3))).toEqual(names.slice(0, 3));

    const rest: string[] = [];
    for await (const object of listPrefix(store, `${prefix.slice(0, -1)}-other/`)) rest.push(object.key);
    expect(rest).toEqual([beside]);
  }, 60_000);
});
