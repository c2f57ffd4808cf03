/**
 * Language tags of caption tracks (BCP 47, RFC 5646).
 *
 *   normaliseLanguageTag(tag)        the tag in its canonical case ("en-us" → "en-US",
 *                                    "zh-hant-tw" → "zh-Hant-TW"), or null when it is not
 *                                    well-formed (the RFC's syntax, plus no repeated variant or
 *                                    extension singleton, at most LANGUAGE_TAG_MAX_LENGTH chars)
 *   defaultCaptionLabel(tag, locale) a human name for the track ("English (United States)"),
 *                                    from Intl.DisplayNames where the runtime has it, else the tag
 *
 * Well-formed is checked, not registered: "qaa" or "en-XY" pass, as the RFC's syntax allows,
 * since the registry changes and players only compare tags.
 */

/** Longer tags are legal but nobody writes them; this keeps storage keys and URLs short. */
export const LANGUAGE_TAG_MAX_LENGTH = 64;

/** Tags from before RFC 4646 that do not fit the syntax (or do, with another meaning). */
const GRANDFATHERED = [
  "en-GB-oed",
  "i-ami",
  "i-bnn",
  "i-default",
  "i-enochian",
  "i-hak",
  "i-klingon",
  "i-lux",
  "i-mingo",
  "i-navajo",
  "i-pwn",
  "i-tao",
  "i-tay",
  "i-tsu",
  "sgn-BE-FR",
  "sgn-BE-NL",
  "sgn-CH-DE",
  "art-lojban",
  "cel-gaulish",
  "no-bok",
  "no-nyn",
  "zh-guoyu",
  "zh-hakka",
  "zh-min",
  "zh-min-nan",
  "zh-xiang",
];
const GRANDFATHERED_BY_LOWER = new Map(GRANDFATHERED.map((t) => [t.toLowerCase(), t]));

const ALPHA = (min: number, max: number) => new RegExp(`^[a-z]{${min},${max}}$`);
const isLanguage = (s: string) => ALPHA(2, 8).test(s);
const isExtlang = (s: string) => ALPHA(3, 3).test(s);
const isScript = (s: string) => ALPHA(4, 4).test(s);
const isRegion = (s: string) => ALPHA(2, 2).test(s) || /^\d{3}$/.test(s);
const isVariant = (s: string) => /^[a-z0-9]{5,8}$/.test(s) || /^\d[a-z0-9]{3}$/.test(s);
const isSingleton = (s: string) => /^[a-wyz0-9]$/.test(s);

/** Private use: "x" followed by one or more subtags of 1 to 8 letters or digits. */
function isPrivateUse(subtags: string[]): boolean {
  return subtags[0] === "x" && subtags.length > 1 && subtags.slice(1).every((s) => /^[a-z0-9]{1,8}$/.test(s));
}

/** True when the lowercased subtags are a well-formed langtag (RFC 5646 §2.1). */
function isLangtag(subtags: string[]): boolean {
  let i = 0;
  const language = subtags[i] ?? "";
  if (!isLanguage(language)) return false;
  i++;
  // Up to three extended language subtags, only after a 2- or 3-letter language.
  if (language.length <= 3) {
    let extlangs = 0;
    while (extlangs < 3 && i < subtags.length && isExtlang(subtags[i] as string)) {
      i++;
      extlangs++;
    }
  }
  if (i < subtags.length && isScript(subtags[i] as string)) i++;
  if (i < subtags.length && isRegion(subtags[i] as string)) i++;
  const variants = new Set<string>();
  while (i < subtags.length && isVariant(subtags[i] as string)) {
    if (variants.has(subtags[i] as string)) return false;
    variants.add(subtags[i] as string);
    i++;
  }
  const singletons = new Set<string>();
  while (i < subtags.length && isSingleton(subtags[i] as string)) {
    const singleton = subtags[i] as string;
    if (singletons.has(singleton)) return false;
    singletons.add(singleton);
    i++;
    const start = i;
    while (i < subtags.length && /^[a-z0-9]{2,8}$/.test(subtags[i] as string)) i++;
    if (i === start) return false;
  }
  if (i < subtags.length) return isPrivateUse(subtags.slice(i));
  return true;
}

/**
 * RFC 5646 §2.1.1 casing: lowercase, but a 2-letter subtag after the first is uppercase (a
 * region) and a 4-letter one titlecase (a script), up to the first singleton.
 */
function canonicalCase(subtags: string[]): string {
  let afterSingleton = false;
  return subtags
    .map((s, index) => {
      if (index === 0 || afterSingleton) return s;
      if (s.length === 1) {
        afterSingleton = true;
        return s;
      }
      if (s.length === 2) return s.toUpperCase();
      if (s.length === 4 && /^[a-z]/.test(s)) return s[0]?.toUpperCase() + s.slice(1);
      return s;
    })
    .join("-");
}

/** The tag in canonical case, or null when it is not a well-formed BCP 47 language tag. */
export function normaliseLanguageTag(tag: string): string | null {
  if (tag.length === 0 || tag.length > LANGUAGE_TAG_MAX_LENGTH || !/^[A-Za-z0-9-]+$/.test(tag)) return null;
  const lower = tag.toLowerCase();
  const grandfathered = GRANDFATHERED_BY_LOWER.get(lower);
  if (grandfathered) return grandfathered;
  const subtags = lower.split("-");
  if (subtags.some((s) => s === "")) return null;
  if (isPrivateUse(subtags)) return lower;
  return isLangtag(subtags) ? canonicalCase(subtags) : null;
}

/**
 * A label for a caption track in the given display locale: "English", "German (Switzerland)",
 * "Chinese (Traditional, Taiwan)". Falls back to the tag itself where Intl.DisplayNames is missing
 * or does not know the tag.
 */
export function defaultCaptionLabel(tag: string, locale = "en"): string {
  try {
    if (typeof Intl.DisplayNames !== "function") return tag;
    const name = new Intl.DisplayNames([locale], { type: "language", fallback: "code" }).of(tag);
    return name && name.trim() !== "" ? name : tag;
  } catch {
    // A tag ICU cannot canonicalise (private use, some grandfathered tags) throws a RangeError.
    return tag;
  }
}
