import { drizzle } from "drizzle-orm/d1";
import * as schema from "./schema";

/** Built once per request from the binding; data functions take it as a parameter. */
export function createDb(d1: D1Database) {
  return drizzle(d1, { schema });
}

export type Database = ReturnType<typeof createDb>;
