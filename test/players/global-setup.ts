/** Global setup of the players test project: the vendored player scripts in public/vendor. */
import { execFileSync } from "node:child_process";
import { join } from "node:path";

export default function setup() {
  execFileSync(process.execPath, [join(import.meta.dirname, "..", "..", "scripts", "vendor-assets.mjs")], {
    stdio: "inherit",
  });
}
