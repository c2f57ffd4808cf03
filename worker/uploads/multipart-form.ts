/**
 * A streaming `multipart/form-data` reader: parts are yielded in order, and a part's body is read
 * as it arrives, so a file field of any size passes through without being held in memory.
 * (`Request.formData()` would buffer the whole body.) Each part's body must be consumed, or
 * skipped with `drain()`, before asking for the next part.
 */
import { Buffer } from "node:buffer";

export interface FormPart {
  name: string;
  filename: string | null;
  contentType: string | null;
  /** The part's bytes as they arrive. */
  body: AsyncIterable<Uint8Array>;
  /** The whole body as text (for small fields), refusing more than `limit` bytes. */
  text(limit?: number): Promise<string>;
  drain(): Promise<void>;
}

export class MultipartError extends Error {}

export function boundaryOf(contentType: string | null | undefined): string | null {
  if (!contentType || !/^multipart\/form-data\b/i.test(contentType)) return null;
  const m = /;\s*boundary=(?:"([^"]{1,70})"|([^\s;]{1,70}))/i.exec(contentType);
  return m ? (m[1] ?? m[2] ?? null) : null;
}

const CRLF = Buffer.from("\r\n");
/** The same bytes as a plain Uint8Array, without copying them. */
const view = (b: Buffer) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
const HEADER_END = Buffer.from("\r\n\r\n");
const MAX_HEADER_BYTES = 16 * 1024;

export async function* readMultipart(stream: ReadableStream<Uint8Array>, boundary: string): AsyncGenerator<FormPart> {
  const reader = stream.getReader();
  const delimiter = Buffer.from(`\r\n--${boundary}`);
  // Start as if a CRLF preceded the body, so the first boundary matches the same delimiter.
  let buf: Buffer = Buffer.from("\r\n");
  let done = false;

  const more = async (): Promise<boolean> => {
    if (done) return false;
    const { value, done: end } = await reader.read();
    if (end) {
      done = true;
      return false;
    }
    // A view when nothing is left over (no copy); the chunks are never written to afterwards.
    buf =
      buf.length === 0 ? Buffer.from(value.buffer, value.byteOffset, value.byteLength) : Buffer.concat([buf, value]);
    return true;
  };

  // Skip the preamble up to the first delimiter.
  for (;;) {
    const at = buf.indexOf(delimiter);
    if (at >= 0) {
      buf = buf.subarray(at + delimiter.length);
      break;
    }
    buf = buf.subarray(Math.max(0, buf.length - delimiter.length));
    if (!(await more())) throw new MultipartError("The multipart body has no boundary");
  }

  for (;;) {
    // After a delimiter: "--" ends the body, CRLF starts a part.
    while (buf.length < 2) if (!(await more())) throw new MultipartError("The multipart body ends too early");
    if (buf[0] === 0x2d && buf[1] === 0x2d) {
      await reader.cancel().catch(() => {});
      return;
    }
    let headerEnd = buf.indexOf(HEADER_END);
    while (headerEnd < 0) {
      if (buf.length > MAX_HEADER_BYTES) throw new MultipartError("A part's headers are too long");
      if (!(await more())) throw new MultipartError("The multipart body ends inside a part's headers");
      headerEnd = buf.indexOf(HEADER_END);
    }
    const headerText = buf.subarray(0, headerEnd).toString("utf8");
    buf = buf.subarray(headerEnd + HEADER_END.length);
    const headers = new Map<string, string>();
    for (const line of headerText.split("\r\n")) {
      const colon = line.indexOf(":");
      if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    const disposition = headers.get("content-disposition") ?? "";
    const name = /\bname="([^"]*)"/i.exec(disposition)?.[1];
    if (name === undefined) throw new MultipartError("A part has no name");
    const filename = /\bfilename="([^"]*)"/i.exec(disposition)?.[1] ?? null;

    let finished = false;
    async function* body(): AsyncGenerator<Uint8Array> {
      while (!finished) {
        const at = buf.indexOf(delimiter);
        if (at >= 0) {
          if (at > 0) yield view(buf.subarray(0, at));
          buf = buf.subarray(at + delimiter.length);
          finished = true;
          return;
        }
        // Keep enough bytes to find a delimiter split across chunks.
        const safe = buf.length - delimiter.length;
        if (safe > 0) {
          yield view(buf.subarray(0, safe));
          buf = buf.subarray(safe);
        }
        if (!(await more())) throw new MultipartError("The multipart body ends inside a part");
      }
    }
    const iterable = body();
    const part: FormPart = {
      name,
      filename,
      contentType: headers.get("content-type") ?? null,
      body: iterable,
      async text(limit = 64 * 1024) {
        const chunks: Uint8Array[] = [];
        let size = 0;
        for await (const chunk of iterable) {
          size += chunk.length;
          if (size > limit) throw new MultipartError(`The field ${name} is longer than ${limit} bytes`);
          chunks.push(chunk);
        }
        return Buffer.concat(chunks).toString("utf8");
      },
      async drain() {
        for await (const _ of iterable) {
          // discard
        }
      },
    };
    yield part;
    if (!finished) await part.drain();
    // CRLF after the delimiter is checked on the next turn ("--" or CR LF).
    while (buf.length < 2) if (!(await more())) throw new MultipartError("The multipart body ends too early");
    if (buf[0] === CRLF[0] && buf[1] === CRLF[1]) buf = buf.subarray(2);
  }
}
