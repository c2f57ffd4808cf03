/** Global setup of the transcoder test project: the quick fixture set, made once. */
import { ensureFixtures } from "./fixtures.ts";

export default function setup() {
  ensureFixtures("quick");
}
