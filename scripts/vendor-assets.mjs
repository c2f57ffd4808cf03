// Copies the API docs viewers (Swagger UI, ReDoc) from node_modules into public/vendor, so the
// deployment serves them itself and /swagger/ and /redoc/ need no third-party network.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(join(root, "package.json"));
const pkgDir = (name) => dirname(require.resolve(`${name}/package.json`));

const files = [
  ["swagger-ui-dist", "swagger-ui.css", "swagger-ui-dist"],
  ["swagger-ui-dist", "swagger-ui-bundle.js", "swagger-ui-dist"],
  ["redoc", "bundles/redoc.standalone.js", "redoc"],
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
