/** Structured JSON logs, one object per line, with the request's context on every line. */
export type LogLevel = "debug" | "info" | "warn" | "error";
const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
  /** Adds fields to every later line of this logger (and of the request log line at the end). */
  annotate(fields: Record<string, unknown>): void;
}

export function createLogger(initial: Record<string, unknown> = {}, minLevel: LogLevel = "info"): Logger {
  const context = { ...initial };
  const write = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (LEVELS[level] < LEVELS[minLevel]) return;
    const line = JSON.stringify({ ts: new Date().toISOString(), level, msg, ...context, ...fields });
    if (level === "error") console.error(line);
    else if (level === "warn") console.warn(line);
    else console.log(line);
  };
  return {
    debug: (m, f) => write("debug", m, f),
    info: (m, f) => write("info", m, f),
    warn: (m, f) => write("warn", m, f),
    error: (m, f) => write("error", m, f),
    child: (fields) => createLogger({ ...context, ...fields }, minLevel),
    annotate: (fields) => {
      Object.assign(context, fields);
    },
  };
}
