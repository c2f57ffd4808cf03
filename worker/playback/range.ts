/** HTTP byte ranges (RFC 9110 §14) for R2 reads: one range per request, as players and ffmpeg send. */
export type ParsedRange =
  | { kind: "none" }
  | { kind: "unsatisfiable" }
  | { kind: "range"; offset: number; length: number };

/** Parses a `Range` header against an object of `size` bytes. Malformed headers are ignored (full body). */
export function parseRange(header: string | null | undefined, size: number): ParsedRange {
  if (!header) return { kind: "none" };
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === "" && m[2] === "")) return { kind: "none" };
  const [, startText = "", endText = ""] = m;
  if (startText === "") {
    const suffix = Number(endText);
    if (suffix === 0) return { kind: "unsatisfiable" };
    const length = Math.min(suffix, size);
    return size === 0 ? { kind: "unsatisfiable" } : { kind: "range", offset: size - length, length };
  }
  const start = Number(startText);
  if (start >= size) return { kind: "unsatisfiable" };
  const end = endText === "" ? size - 1 : Math.min(Number(endText), size - 1);
  if (end < start) return { kind: "none" };
  return { kind: "range", offset: start, length: end - start + 1 };
}
