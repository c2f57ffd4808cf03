import { describe, expect, it } from "vitest";
import { defaultCaptionLabel, LANGUAGE_TAG_MAX_LENGTH, normaliseLanguageTag } from "./language.ts";

describe("normaliseLanguageTag", () => {
  it.each([
    ["en", "en"],
    ["EN", "en"],
    ["en-us", "en-US"],
    ["zh-hant-tw", "zh-Hant-TW"],
    ["ZH-HANS", "zh-Hans"],
    ["es-419", "es-419"],
    ["sr-latn-rs", "sr-Latn-RS"],
    ["de-ch-1901", "de-CH-1901"],
    ["sl-rozaj-biske", "sl-rozaj-biske"],
    ["zh-yue-hk", "zh-yue-HK"],
    ["en-a-bbb-x-a-ccc", "en-a-bbb-x-a-ccc"],
    ["en-US-u-ca-gregory", "en-US-u-ca-gregory"],
    ["qaa", "qaa"],
    ["x-whatever", "x-whatever"],
    ["i-KLINGON", "i-klingon"],
    ["en-gb-oed", "en-GB-oed"],
    ["zh-min-nan", "zh-min-nan"],
    ["sgn-be-fr", "sgn-BE-FR"],
    ["hy-latn-it-arevela", "hy-Latn-IT-arevela"],
  ])("%s is well-formed, canonically %s", (tag, canonical) => {
    expect(normaliseLanguageTag(tag)).toBe(canonical);
  });

  it.each([
    ["", "empty"],
    ["e", "a one-letter language"],
    ["languages-us", "a language of more than 8 letters"],
    ["en_US", "an underscore"],
    ["en-", "an empty subtag"],
    ["en--us", "an empty subtag"],
    ["en-US-x", "private use without a subtag"],
    ["de-419-DE", "two regions"],
    ["a-DE", "a singleton first"],
    ["ar-a-aaa-b-bbb-a-ccc", "a repeated extension singleton"],
    ["de-1901-1901", "a repeated variant"],
    ["en-a", "an extension without a subtag"],
    ["en-u-c", "an extension subtag of one letter"],
    ["abcd-efg-hijk", "an extlang after a 4-letter language"],
    ["en US", "a space"],
    ["en/../../x", "path characters"],
    ["i-foo", "an unregistered i- tag"],
  ])("%j is refused (%s)", (tag) => {
    expect(normaliseLanguageTag(tag)).toBeNull();
  });

  it("refuses tags longer than the limit", () => {
    const long = `en-x-${"abcdefgh-".repeat(7)}a`;
    expect(long.length).toBeGreaterThan(LANGUAGE_TAG_MAX_LENGTH);
    expect(normaliseLanguageTag(long)).toBeNull();
    expect(normaliseLanguageTag(long.slice(0, LANGUAGE_TAG_MAX_LENGTH - 1))).not.toBeNull();
  });
});

describe("defaultCaptionLabel in workerd", () => {
  it("has Intl.DisplayNames with language names", () => {
    expect(typeof Intl.DisplayNames).toBe("function");
    expect(defaultCaptionLabel("en")).toBe("English");
    expect(defaultCaptionLabel("de")).toBe("German");
    expect(defaultCaptionLabel("en-US")).toBe("American English");
    expect(defaultCaptionLabel("de-CH")).toBe("Swiss High German");
    expect(defaultCaptionLabel("pt-BR")).toBe("Brazilian Portuguese");
    expect(defaultCaptionLabel("zh-Hant-TW")).toBe("Chinese (Traditional, Taiwan)");
    expect(defaultCaptionLabel("fr", "fr")).toBe("français");
  });

  it("falls back to the tag for what the runtime cannot name", () => {
    expect(defaultCaptionLabel("x-whatever")).toBe("x-whatever");
    expect(defaultCaptionLabel("qaa")).toBe("qaa");
  });
});
