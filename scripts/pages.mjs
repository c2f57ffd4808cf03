// The web app's pages: web/layout.html (the head, header and footer every page shares) around
// each page of web/pages/ (its <title>, description and scripts, then its <main>), written to
// public/<name>.html by the vendor step (scripts/vendor-assets.mjs). Plain HTML in and out, so the
// browser code still has no build step.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const SLOT = /^( *)<!-- page (head|main) -->$/gm;

/** A page: `source` is its head elements, then its `<main>` element; each goes into its slot. */
export function renderPage(layout, source, name = "page") {
  const at = source.indexOf("<main");
  if (at < 0) throw new Error(`${name}: no <main> element`);
  const parts = { head: source.slice(0, at).trim(), main: source.slice(at).trim() };
  const slots = [...layout.matchAll(SLOT)].map((m) => m[2]).sort();
  if (slots.join() !== "head,main") {
    throw new Error("web/layout.html needs one <!-- page head --> and one <!-- page main --> line");
  }
  return layout.replace(SLOT, (_, indent, part) =>
    parts[part]
      .split("\n")
      .map((line) => (line ? indent + line : line))
      .join("\n"),
  );
}

/** Writes every page of `root`/web/pages into `outDir` (the static assets); returns their names. */
export function writePages(root, outDir = join(root, "public")) {
  const layout = readFileSync(join(root, "web", "layout.html"), "utf8");
  const pagesDir = join(root, "web", "pages");
  const names = readdirSync(pagesDir)
    .filter((f) => f.endsWith(".html"))
    .sort();
  mkdirSync(outDir, { recursive: true });
  for (const name of names) {
    writeFileSync(join(outDir, name), renderPage(layout, readFileSync(join(pagesDir, name), "utf8"), name));
  }
  return names;
}
