import { describe, expect, it } from "vitest";
import {
  CAPTION_MAX_BYTES,
  decodeCaptionBytes,
  detectCaptionFormat,
  normaliseCaptionText,
  parseWebVtt,
  readCaptionFile,
  srtToWebVtt,
} from "./webvtt.ts";

const utf8 = (text: string) => new TextEncoder().encode(text);

/** The failure of a result, or a test failure when it succeeded. */
function failure(result: ReturnType<typeof parseWebVtt>) {
  if (result.ok) throw new Error("expected the file to be refused");
  return result;
}

const GOOD_VTT = `WEBVTT - a title
Kind: captions

STYLE
::cue { color: yellow }

REGION
id:fred width:40% lines:3 regionanchor:0%,100% viewportanchor:10%,90% scroll:up

NOTE a comment
spanning two lines

intro
00:00:01.000 --> 00:00:03.500 align:start position:10%,line-left size:80% line:-2
<v Roger>Hello <b>there</b> &amp; welcome

00:04.000 --> 00:06.000 vertical:rl region:fred
Second cue
on two lines

01:00:00.000 --> 100:00:00.001 line:50%,center
Hours of more than two digits
`;

describe("parseWebVtt", () => {
  it("reads header, STYLE, REGION, NOTE blocks, cue ids, settings and both timestamp forms", () => {
    const result = parseWebVtt(GOOD_VTT);
    if (!result.ok) throw new Error(result.message);
    expect(result.cues).toEqual([
      {
        id: "intro",
        start: 1,
        end: 3.5,
        settings: "align:start position:10%,line-left size:80% line:-2",
        text: "<v Roger>Hello <b>there</b> &amp; welcome",
      },
      { id: null, start: 4, end: 6, settings: "vertical:rl region:fred", text: "Second cue\non two lines" },
      { id: null, start: 3600, end: 360000.001, settings: "line:50%,center", text: "Hours of more than two digits" },
    ]);
    expect(result.vtt).toBe(GOOD_VTT);
  });

  it("accepts a file with only the header, and one without a final newline", () => {
    expect(parseWebVtt("WEBVTT")).toMatchObject({ ok: true, cues: [], vtt: "WEBVTT\n" });
    expect(parseWebVtt("WEBVTT\n\n00:00.000 --> 00:01.000\nx")).toMatchObject({ ok: true, cues: [{ end: 1 }] });
  });

  it("refuses a file that does not start with WEBVTT", () => {
    expect(failure(parseWebVtt("WEBVTTX\n"))).toMatchObject({
      line: 1,
      message: 'line 1: the file must start with "WEBVTT"',
    });
    expect(failure(parseWebVtt("\nWEBVTT\n")).line).toBe(1);
    expect(failure(parseWebVtt("webvtt\n")).line).toBe(1);
  });

  it("names the line of a malformed cue timing", () => {
    const text = "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nfine\n\nan id\n00:00:03 --> 00:00:04.000\nbad\n";
    expect(failure(parseWebVtt(text))).toMatchObject({
      line: 7,
      message: 'line 7: malformed start time "00:00:03" (expected such as 00:00:01.000)',
    });
    expect(failure(parseWebVtt("WEBVTT\n\n1\n2\n")).message).toBe(
      "line 4: expected a cue timing such as 00:00:01.000 --> 00:00:03.000",
    );
    expect(failure(parseWebVtt("WEBVTT\n\nonly an id\n")).message).toBe(
      "line 4: expected a cue timing such as 00:00:01.000 --> 00:00:03.000",
    );
  });

  it.each([
    ["00:00:01.000 --> 00:00:01.000", "the cue ends (00:00:01.000) before it starts (00:00:01.000)"],
    ["00:00:02.000 --> 00:00:01.000", "the cue ends (00:00:01.000) before it starts (00:00:02.000)"],
    ["00:60.000 --> 01:00.000", 'malformed start time "00:60.000" (expected such as 00:00:01.000)'],
    ["00:00.000 --> 00:01,000", 'malformed end time "00:01,000" (expected such as 00:00:03.000)'],
    ["00:00.000 -> 00:01.000", "expected a cue timing such as 00:00:01.000 --> 00:00:03.000"],
    [
      "00:00.000 --> 00:01.000 colour:red",
      'unknown cue setting "colour" (expected vertical, line, position, size, align or region)',
    ],
    ["00:00.000 --> 00:01.000 align:middle", 'malformed cue setting "align:middle"'],
    ["00:00.000 --> 00:01.000 position:120", 'malformed cue setting "position:120"'],
  ])("refuses the timing line %j", (timing, reason) => {
    expect(failure(parseWebVtt(`WEBVTT\n\n${timing}\ntext\n`))).toMatchObject({ line: 3, reason });
  });

  it("refuses cue text running into the next cue, STYLE after a cue, arrows in NOTE and header", () => {
    expect(failure(parseWebVtt("WEBVTT\n\n00:01.000 --> 00:02.000\na\n00:02.000 --> 00:03.000\nb\n"))).toMatchObject({
      line: 5,
      reason: 'expected a blank line before the next cue (cue text must not contain "-->")',
    });
    expect(failure(parseWebVtt("WEBVTT\n\n00:01.000 --> 00:02.000\na\n\nSTYLE\n::cue {}\n"))).toMatchObject({
      line: 6,
      reason: "a STYLE block must come before the first cue",
    });
    expect(failure(parseWebVtt("WEBVTT\n\nNOTE a --> b\n")).line).toBe(3);
    expect(failure(parseWebVtt("WEBVTT\n00:01.000 --> 00:02.000\na\n")).line).toBe(2);
    expect(failure(parseWebVtt("WEBVTT\n\n00:01.000 --> 00:02.000\na\0b\n")).line).toBe(4);
  });
});

describe("normalising and decoding", () => {
  it("strips the BOM and turns CRLF and CR into LF, keeping line numbers as uploaded", () => {
    expect(normaliseCaptionText("\uFEFFWEBVTT\r\n\r\n00:01.000 --> 00:02.000\rhi\r\n")).toBe(
      "WEBVTT\n\n00:01.000 --> 00:02.000\nhi\n",
    );
    const crlf = utf8("\uFEFFWEBVTT\r\n\r\n00:01.000 --> 00:02.000\r\nok\r\n\r\n00:03.000 --> 00:02.000\r\nbad\r\n");
    expect(readCaptionFile(crlf)).toMatchObject({ ok: false, line: 6 });
  });

  it("refuses bytes that are not UTF-8, naming their line", () => {
    const bytes = new Uint8Array([...utf8("WEBVTT\n\n00:01.000 --> 00:02.000\n"), 0xff, 0xfe, ...utf8("\n")]);
    expect(decodeCaptionBytes(bytes)).toMatchObject({ ok: false, line: 4, reason: "the file is not UTF-8 text" });
    expect(decodeCaptionBytes(utf8("WEBVTT\n\nüñí"))).toEqual({ ok: true, text: "WEBVTT\n\nüñí" });
  });

  it("refuses a file over the size limit before reading it", () => {
    const big = new Uint8Array(CAPTION_MAX_BYTES + 1).fill(0x61);
    expect(readCaptionFile(big)).toMatchObject({
      ok: false,
      line: 0,
      message: `the file is larger than ${CAPTION_MAX_BYTES} bytes`,
    });
    const justFits = utf8(`WEBVTT\n\nNOTE ${"a".repeat(CAPTION_MAX_BYTES - 14)}\n`);
    expect(justFits.byteLength).toBe(CAPTION_MAX_BYTES);
    expect(readCaptionFile(justFits).ok).toBe(true);
  });
});

const SRT = `1
00:00:01,000 --> 00:00:02,500
<i>Hello</i> <font color="#ff0000">red</font> & more
a < b, arrows --> here

2
0:00:03,5 --> 00:00:04,000 X1:10 X2:100 Y1:10 Y2:50
{\\an8}Top line

3
00:00:05.000 --> 00:00:06.000
dots instead of commas
`;

describe("srtToWebVtt", () => {
  it("converts cues, times and markup into valid WebVTT", () => {
    const result = srtToWebVtt(SRT);
    if (!result.ok) throw new Error(result.message);
    expect(result.vtt).toBe(`WEBVTT

1
00:00:01.000 --> 00:00:02.500
<i>Hello</i> red &amp; more
a &lt; b, arrows --&gt; here

2
00:00:03.500 --> 00:00:04.000
Top line

3
00:00:05.000 --> 00:00:06.000
dots instead of commas
`);
    expect(result.cues.map((c) => [c.start, c.end])).toEqual([
      [1, 2.5],
      [3.5, 4],
      [5, 6],
    ]);
  });

  it("accepts cues without counter lines and a CRLF file with a BOM", () => {
    const result = readCaptionFile(utf8("\uFEFF00:00:01,000 --> 00:00:02,000\r\nno counter\r\n"), "srt");
    expect(result).toMatchObject({ ok: true, cues: [{ start: 1, end: 2, text: "no counter" }] });
  });

  it("names the SRT line that failed", () => {
    expect(srtToWebVtt("1\n00:00:01,000 --> 00:00:02,000\nok\n\n2\n00:00:03,000 - 00:00:04,000\nbad\n")).toMatchObject({
      ok: false,
      line: 6,
      message: "line 6: expected an SRT cue timing such as 00:00:01,000 --> 00:00:03,000",
    });
    expect(srtToWebVtt("1\n00:00:01,000 --> 00:00:0x,000\n")).toMatchObject({ ok: false, line: 2 });
    expect(srtToWebVtt("1\n00:00:02,000 --> 00:00:01,000\n")).toMatchObject({
      ok: false,
      line: 2,
      reason: "the cue ends (00:00:01.000) before it starts (00:00:02.000)",
    });
    expect(srtToWebVtt("\n\n")).toMatchObject({ ok: false, reason: "the file holds no cues" });
  });
});

describe("readCaptionFile", () => {
  it("detects the format from the content", () => {
    expect(detectCaptionFormat("WEBVTT\n")).toBe("vtt");
    expect(detectCaptionFormat("\n1\n00:00:01,000 --> 00:00:02,000\n")).toBe("srt");
    expect(detectCaptionFormat("00:00:01,000 --> 00:00:02,000\n")).toBe("srt");
    expect(detectCaptionFormat("<tt xmlns=...>")).toBeNull();
    expect(readCaptionFile(utf8(SRT))).toMatchObject({ ok: true, cues: [{}, {}, {}] });
    expect(readCaptionFile(utf8("<tt/>"))).toMatchObject({
      ok: false,
      message: 'line 1: the file must start with "WEBVTT" (or be an SRT file)',
    });
  });

  it("holds a declared format to its word", () => {
    expect(readCaptionFile(utf8(SRT), "vtt")).toMatchObject({ ok: false, line: 1 });
  });
});
