/**
 * The little XML the S3 API speaks: flat documents of known elements (list results, errors,
 * multipart answers). Enough to read and write those without an XML library.
 */

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };
const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" };

export function xmlEscape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

export function xmlUnescape(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|amp|lt|gt|quot|apos);/g, (whole, entity: string) => {
    if (entity.startsWith("#x")) return String.fromCodePoint(Number.parseInt(entity.slice(2), 16));
    if (entity.startsWith("#")) return String.fromCodePoint(Number.parseInt(entity.slice(1), 10));
    return ENTITIES[entity] ?? whole;
  });
}

/** The inner XML of every `<tag>` element (not nested in one of the same name). */
export function xmlElements(xml: string, tag: string): string[] {
  const pattern = new RegExp(`<${tag}(?:\\s[^>]*)?(?:/>|>([\\s\\S]*?)</${tag}>)`, "g");
  return [...xml.matchAll(pattern)].map((m) => m[1] ?? "");
}

/** The text of the first `<tag>` element, unescaped; undefined when there is none. */
export function xmlText(xml: string, tag: string): string | undefined {
  const [inner] = xmlElements(xml, tag);
  return inner === undefined ? undefined : xmlUnescape(inner);
}
