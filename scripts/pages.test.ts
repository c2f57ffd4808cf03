import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..");
// A non-literal specifier: the module is plain JavaScript without declarations.
const pagesModule = join(root, "scripts", "pages.mjs");
const { renderPage, writePages } = await import(pagesModule);

const out = mkdtempSync(join(tmpdir(), "streambuddy-pages-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

const count = (text: string, part: string) => text.split(part).length - 1;

describe("the web app's pages", () => {
  it("are every page of web/pages inside the one layout", () => {
    const names: string[] = writePages(root, out);
    expect(names).toEqual(readdirSync(join(root, "web", "pages")).sort());
    expect(names).toContain("upload.html");
    for (const name of names) {
      const html = readFileSync(join(out, name), "utf8");
      expect(html.startsWith('<!doctype html>\n<html lang="en">'), name).toBe(true);
      expect(count(html, '<header class="site-header">'), name).toBe(1);
      expect(count(html, '<footer class="site-footer">'), name).toBe(1);
      expect(count(html, '<main id="main"'), name).toBe(1);
      expect(count(html, "<title>"), name).toBe(1);
      expect(html, name).not.toContain("<!-- page ");
      // The shared script runs before the page's own (module scripts run in document order).
      const own = html.indexOf('<script type="module" src="/app/', html.indexOf("/app/layout.js") + 1);
      expect(html.indexOf("/app/layout.js"), name).toBeLessThan(own);
      expect(html.indexOf("</head>"), name).toBeGreaterThan(own);
    }
    const upload = readFileSync(join(out, "upload.html"), "utf8");
    expect(upload).toContain("<title>Upload · StreamBuddy</title>");
    expect(upload).toContain('    <script src="/vendor/tus-js-client/tus.min.js" defer></script>\n');
    expect(upload).toContain('    <main id="main" class="narrow">\n      <h1>Upload a video</h1>\n');
  });

  it("refuses a page without <main> and a layout without its slots", () => {
    expect(() => renderPage("<!-- page head -->\n<!-- page main -->\n", "<title>x</title>", "x.html")).toThrow(
      /x\.html: no <main>/,
    );
    expect(() => renderPage("<body></body>", "<main></main>")).toThrow(/needs one <!-- page head -->/);
  });
});
