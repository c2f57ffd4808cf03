/**
 * Caption files: WebVTT checked line by line, SubRip (SRT) converted to WebVTT. Pure functions
 * over text, so the Worker can refuse a malformed upload with the line that failed before it
 * stores anything.
 *
 *   CAPTION_MAX_BYTES                 the largest caption file accepted
 *   decodeCaptionBytes(bytes)         UTF-8 bytes → normalised text (or the line of the bad byte)
 *   normaliseCaptionText(text)        BOM stripped, CRLF and CR → LF
 *   parseWebVtt(text)                 a WebVTT file's cues, or the first error with its line
 *   srtToWebVtt(text)                 an SRT file as WebVTT (validated), or its first error
 *   readCaptionFile(bytes, format?)   all of the above: what an upload handler calls
 *
 * Errors read like "line 7: expected a cue timing such as 00:00:01.000 --> 00:00:03.000"; the
 * line number is 1-based in the file as uploaded (a BOM or CRLF endings do not shift it).
 */

/** 1 MiB holds several hours of dense dialogue; anything larger is not a caption file. */
export const CAPTION_MAX_BYTES = 1024 * 1024;

export type CaptionFormat = "vtt" | "srt";

export interface Cue {
  id: string | null;
  /** Seconds. */
  start: number;
  end: number;
  settings: string;
  text: string;
}

export type CaptionResult =
  | { ok: true; vtt: string; cues: Cue[] }
  /** `line` is 0 when the failure is about the whole file (its size). */
  | { ok: false; line: number; message: string; reason: string };

const TIMING_EXAMPLE = "00:00:01.000 --> 00:00:03.000";

const fail = (line: number, reason: string): Extract<CaptionResult, { ok: false }> => ({
  ok: false,
  line,
  reason,
  message: `line ${line}: ${reason}`,
});

/** Text with the byte-order mark stripped and every line ending made LF. */
export function normaliseCaptionText(text: string): string {
  return (text.charCodeAt(0) === 0xfeff ? text.slice(1) : text).replace(/\r\n?/g, "\n");
}

/** UTF-8 bytes as normalised text; an invalid sequence fails with the line it sits on. */
export function decodeCaptionBytes(
  bytes: Uint8Array,
): { ok: true; text: string } | Extract<CaptionResult, { ok: false }> {
  try {
    return {
      ok: true,
      text: normaliseCaptionText(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes)),
    };
  } catch {
    // The lenient decoding marks the bad sequence with U+FFFD; an earlier genuine U+FFFD would
    // only make the reported line earlier, never later.
    const lenient = normaliseCaptionText(new TextDecoder("utf-8").decode(bytes));
    const at = lenient.indexOf("\uFFFD");
    const line = at < 0 ? 1 : lenient.slice(0, at).split("\n").length;
    return fail(line, "the file is not UTF-8 text");
  }
}

/** `hh:mm:ss.ttt` (hours optional, at least two digits) → seconds; null when malformed. */
function parseTimestamp(value: string): number | null {
  const m = /^(?:(\d{2,}):)?([0-5]\d):([0-5]\d)\.(\d{3})$/.exec(value);
  if (!m) return null;
  return Number(m[1] ?? 0) * 3600 + Number(m[2]) * 60 + Number(m[3]) + Number(m[4]) / 1000;
}

const CUE_SETTINGS: Record<string, RegExp> = {
  vertical: /^(rl|lr)$/,
  line: /^(-?\d+|\d+(\.\d+)?%)(,(start|center|end))?$/,
  position: /^\d+(\.\d+)?%(,(line-left|center|line-right))?$/,
  size: /^\d+(\.\d+)?%$/,
  align: /^(start|center|end|left|right)$/,
  region: /^[^\s]+$/,
};

/** Why a cue's settings are malformed, or null when they are fine. */
function checkCueSettings(settings: string): string | null {
  for (const setting of settings.split(/[ \t]+/).filter(Boolean)) {
    const colon = setting.indexOf(":");
    const name = colon > 0 ? setting.slice(0, colon) : setting;
    const pattern = CUE_SETTINGS[name];
    if (!pattern) return `unknown cue setting "${name}" (expected vertical, line, position, size, align or region)`;
    const value = setting.slice(colon + 1);
    if (colon <= 0 || !pattern.test(value)) return `malformed cue setting "${setting}"`;
  }
  return null;
}

type TimingResult = { start: number; end: number; settings: string } | { error: string };

/** A cue timing line `start --> end [settings]`. */
function parseTimingLine(line: string): TimingResult {
  const m = /^(\S+)[ \t]+-->[ \t]+(\S+)(?:[ \t]+(.*))?$/.exec(line);
  if (!m) return { error: `expected a cue timing such as ${TIMING_EXAMPLE}` };
  const start = parseTimestamp(m[1] as string);
  if (start === null) return { error: `malformed start time "${m[1]}" (expected such as 00:00:01.000)` };
  const end = parseTimestamp(m[2] as string);
  if (end === null) return { error: `malformed end time "${m[2]}" (expected such as 00:00:03.000)` };
  if (end <= start) return { error: `the cue ends (${m[2]}) before it starts (${m[1]})` };
  const settings = (m[3] ?? "").trim();
  const bad = checkCueSettings(settings);
  return bad ? { error: bad } : { start, end, settings };
}

const startsBlock = (line: string, keyword: string) =>
  line === keyword || line.startsWith(`${keyword} `) || line.startsWith(`${keyword}\t`);

/**
 * The cues of a WebVTT file (already normalised), or the first thing wrong with it: the header,
 * cue timings and settings, cue text that runs into the next cue, STYLE or REGION blocks after
 * the first cue, an arrow in a NOTE.
 */
export function parseWebVtt(text: string): CaptionResult {
  const lines = text.split("\n");
  const first = lines[0] ?? "";
  if (!/^WEBVTT([ \t].*)?$/.test(first)) {
    return fail(1, 'the file must start with "WEBVTT"');
  }
  if (first.includes("-->")) return fail(1, 'the "WEBVTT" line must not contain "-->"');
  for (let i = 0; i < lines.length; i++) {
    if ((lines[i] as string).includes("\0")) return fail(i + 1, "the text contains a NUL character");
  }

  let i = 1;
  // Header lines (metadata such as X-TIMESTAMP-MAP) run up to the first blank line.
  while (i < lines.length && lines[i] !== "") {
    if ((lines[i] as string).includes("-->")) return fail(i + 1, "expected a blank line after the WEBVTT header");
    i++;
  }

  const cues: Cue[] = [];
  while (i < lines.length) {
    while (i < lines.length && lines[i] === "") i++;
    if (i >= lines.length) break;
    const head = lines[i] as string;

    if (startsBlock(head, "NOTE")) {
      for (; i < lines.length && lines[i] !== ""; i++) {
        if ((lines[i] as string).includes("-->")) return fail(i + 1, 'a NOTE must not contain "-->"');
      }
      continue;
    }
    if (!head.includes("-->") && (startsBlock(head, "STYLE") || startsBlock(head, "REGION"))) {
      const kind = head.startsWith("STYLE") ? "STYLE" : "REGION";
      if (cues.length > 0) return fail(i + 1, `a ${kind} block must come before the first cue`);
      for (; i < lines.length && lines[i] !== ""; i++) {
        if ((lines[i] as string).includes("-->")) return fail(i + 1, `a ${kind} block must not contain "-->"`);
      }
      continue;
    }

    // A cue: an optional identifier, the timing line, then text up to a blank line.
    let id: string | null = null;
    // A line that starts like a timestamp is a broken timing, not a cue identifier.
    if (!head.includes("-->") && /^(\d+:)?\d+:\d+[.,]\d/.test(head)) {
      return fail(i + 1, `expected a cue timing such as ${TIMING_EXAMPLE}`);
    }
    if (!head.includes("-->")) {
      id = head;
      i++;
      if (i >= lines.length || lines[i] === "") return fail(i + 1, `expected a cue timing such as ${TIMING_EXAMPLE}`);
    }
    const timing = parseTimingLine(lines[i] as string);
    if ("error" in timing) return fail(i + 1, timing.error);
    i++;
    const textLines: string[] = [];
    for (; i < lines.length && lines[i] !== ""; i++) {
      if ((lines[i] as string).includes("-->")) {
        return fail(i + 1, 'expected a blank line before the next cue (cue text must not contain "-->")');
      }
      textLines.push(lines[i] as string);
    }
    cues.push({ id, ...timing, text: textLines.join("\n") });
  }
  return { ok: true, vtt: text.endsWith("\n") ? text : `${text}\n`, cues };
}

/** `hh:mm:ss,ttt` (or with a dot; one-digit hours and short fractions as some tools write them). */
function parseSrtTimestamp(value: string): string | null {
  const m = /^(\d{1,}):([0-5]?\d):([0-5]?\d)[,.](\d{1,3})$/.exec(value);
  if (!m) return null;
  const two = (s: string) => s.padStart(2, "0");
  return `${two(m[1] as string)}:${two(m[2] as string)}:${two(m[3] as string)}.${(m[4] as string).padEnd(3, "0")}`;
}

/**
 * SRT text as WebVTT text: `<i>`, `<b>` and `<u>` are kept, other markup such as `<font>` is
 * dropped, and a stray `<`, `&` or `-->` is escaped so it shows as written.
 */
function srtTextToVtt(line: string): string {
  return line
    .replace(/<\/?font\b[^>]*>/gi, "")
    .replace(/\{\\[^}]*\}/g, "")
    .replace(/&(?!(amp|lt|gt|lrm|rlm|nbsp|#\d+|#x[0-9a-f]+);)/gi, "&amp;")
    .replace(/<(?!\/?[ibu]>)/gi, "&lt;")
    .replace(/-->/g, "--&gt;");
}

/** A SubRip file (normalised) as WebVTT; errors name the line of the SRT file. */
export function srtToWebVtt(text: string): CaptionResult {
  const lines = text.split("\n");
  const out: string[] = ["WEBVTT", ""];
  let i = 0;
  let cueCount = 0;
  while (i < lines.length) {
    while (i < lines.length && (lines[i] as string).trim() === "") i++;
    if (i >= lines.length) break;
    let head = (lines[i] as string).trim();
    // The counter line is optional in practice; a cue may start with its timing.
    if (/^\d+$/.test(head)) {
      i++;
      head = (lines[i] ?? "").trim();
    }
    const m = /^(\S+)[ \t]*-->[ \t]*(\S+)(?:[ \t]+.*)?$/.exec(head);
    if (!m) {
      return fail(i + 1, "expected an SRT cue timing such as 00:00:01,000 --> 00:00:03,000");
    }
    const start = parseSrtTimestamp(m[1] as string);
    const end = parseSrtTimestamp(m[2] as string);
    if (start === null) return fail(i + 1, `malformed start time "${m[1]}" (expected such as 00:00:01,000)`);
    if (end === null) return fail(i + 1, `malformed end time "${m[2]}" (expected such as 00:00:03,000)`);
    // The SRT X1:/Y1: coordinates after the times have no WebVTT meaning and are dropped.
    const check = parseTimingLine(`${start} --> ${end}`);
    if ("error" in check) return fail(i + 1, check.error);
    i++;
    const textLines: string[] = [];
    for (; i < lines.length && (lines[i] as string).trim() !== ""; i++)
      textLines.push(srtTextToVtt(lines[i] as string));
    cueCount++;
    out.push(String(cueCount), `${start} --> ${end}`, ...textLines, "");
  }
  if (cueCount === 0) return fail(1, "the file holds no cues");
  return parseWebVtt(out.join("\n"));
}

/** The format of a caption file from its first line: `WEBVTT`, or what SRT files start with. */
export function detectCaptionFormat(text: string): CaptionFormat | null {
  const first = text.split("\n").find((l) => l.trim() !== "") ?? "";
  if (/^WEBVTT([ \t]|$)/.test(first)) return "vtt";
  if (/^\d+\s*$/.test(first) || /^\d+:\d{1,2}:\d{1,2}[,.]\d{1,3}\s*-->/.test(first)) return "srt";
  return null;
}

/**
 * An uploaded caption file (bytes) as validated WebVTT: size limit, UTF-8, format (given, or
 * detected from the content), then parsing.
 */
export function readCaptionFile(bytes: Uint8Array, format?: CaptionFormat): CaptionResult {
  if (bytes.byteLength > CAPTION_MAX_BYTES) {
    const reason = `the file is larger than ${CAPTION_MAX_BYTES} bytes`;
    return { ok: false, line: 0, reason, message: reason };
  }
  const decoded = decodeCaptionBytes(bytes);
  if (!decoded.ok) return decoded;
  const kind = format ?? detectCaptionFormat(decoded.text);
  if (kind === "srt") return srtToWebVtt(decoded.text);
  if (kind === "vtt") return parseWebVtt(decoded.text);
  return fail(1, 'the file must start with "WEBVTT" (or be an SRT file)');
}
