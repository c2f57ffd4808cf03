/**
 * The standard test videos, made by scripts/make-fixtures.sh into test/fixtures/.cache (not in
 * git). The transcoder tests' global setup makes the quick set once; the script skips files that
 * already exist.
 */
import { execFileSync } from "node:child_process";
import { join } from "node:path";

const root = join(import.meta.dirname, "..", "..");
export const FIXTURES_DIR = join(root, "test", "fixtures", ".cache");

export const fixture = (name: string) => join(FIXTURES_DIR, name);

/** Makes the fixtures if missing; `full` adds the large mezzanine and benchmark files (~1 min). */
export function ensureFixtures(mode: "quick" | "full" = "quick") {
  const args = [join(root, "scripts", "make-fixtures.sh"), FIXTURES_DIR];
  if (mode === "quick") args.push("quick");
  execFileSync("bash", args, { stdio: "inherit" });
}
