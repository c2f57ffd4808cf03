// Prepares public/ before dev, deploy and tests:
// - copies the API docs viewers (Swagger UI, ReDoc) and the web app's libraries (tus-js-client,
//   dash.js, hls.js) from node_modules into public/vendor, so the deployment serves them itself and no page
//   needs third-party network;
// - writes the web app's pages, public/*.html, from web/layout.html and web/pages/ (scripts/pages.mjs).
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { writePages } from "./pages.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(join(root, "package.json"));
const pkgDir = (name) => {
  try {
    return dirname(require.resolve(`${name}/package.json`));
  } catch {
    // Packages whose "exports" hide package.json (dash.js) sit where npm put them.
    return join(root, "node_modules", name);
  }
};

const files = [
  ["swagger-ui-dist", "swagger-ui.css", "swagger-ui-dist"],
  ["swagger-ui-dist", "swagger-ui-bundle.js", "swagger-ui-dist"],
  ["redoc", "bundles/redoc.standalone.js", "redoc"],
  // The web app's resumable uploads and DASH player (an ES module).
  ["tus-js-client", "dist/tus.min.js", "tus-js-client"],
  ["dashjs", "dist/modern/esm/dash.mediaplayer.min.js", "dashjs"],
  ["dashjs", "dist/modern/esm/dash.mediaplayer.min.js.LICENSE.txt", "dashjs"],
  // HLS through Media Source Extensions (an ES module), for players that take HLS only.
  ["hls.js", "dist/hls.min.mjs", "hls.js"],
  ["hls.js", "LICENSE", "hls.js"],
];
for (const [pkg, file, target] of files) {
  const dest = join(root, "public", "vendor", target);
  mkdirSync(dest, { recursive: true });
  copyFileSync(join(pkgDir(pkg), file), join(dest, file.split("/").pop()));
}

// ReDoc's sidebar shows a logo fetched from its vendor's CDN; point it at an empty local image.
const redoc = join(root, "public", "vendor", "redoc", "redoc.standalone.js");
const emptySvg = "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg'/%3E";
writeFileSync(redoc, readFileSync(redoc, "utf8").replaceAll("https://cdn.redoc.ly/redoc/logo-mini.svg", emptySvg));

writePages(root);
