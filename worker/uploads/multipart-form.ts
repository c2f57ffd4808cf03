/**
 * A streaming `multipart/form-data` reader: parts are yielded in order, and a part's body is read
 * as it arrives, so a file field of any size passes through without being held in memory.
 * (`Request.formData()` would buffer the whole body.) Each part's body must be consumed, or
 * skipped with `drain()`, before asking for the next part.
 *
 * A chunk of a part's body is valid until the next one is asked for (copy what you keep): the
 * stream's own chunks are handed to `release` as soon as nothing refers to them any more, so
 * their buffers can carry later bytes. A file's bytes are passed on as views of those chunks,
 * never copied here.
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

export interface ReadMultipartOptions {
  /** Takes back each chunk of the stream once nothing yielded or held refers to it. */
  release?: (chunk: Uint8Array) => void;
}

export async function* readMultipart(
  stream: ReadableStream<Uint8Array>,
  boundary: string,
  options: ReadMultipartOptions = {},
): AsyncGenerator<FormPart> {
  const reader = stream.getReader();
  const delimiter = Buffer.from(`\r\n--${boundary}`);
  const release = options.release ?? (() => {});
  // Start as if a CRLF preceded the body, so the first boundary matches the same delimiter.
  let buf: Buffer = Buffer.from("\r\n");
  /** The stream's chunk that `buf` is a view of, if it is one (not a copy). */
  let owned: Uint8Array | undefined;
  let done = false;

  const next = async (): Promise<Uint8Array | undefined> => {
    if (done) return undefined;
    const { value, done: end } = await reader.read();
    if (end) done = true;
    return end ? undefined : value;
  };
  /** `buf` becomes a view of `value`: everything before it was consumed. */
  const switchTo = (value: Uint8Array) => {
    if (owned) release(owned);
    buf = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    owned = value;
  };
  /** `buf` and `value` joined in a copy (bytes left over: a boundary or headers across chunks). */
  const join = (value: Uint8Array) => {
    const joined = Buffer.concat([buf, value]);
    if (owned) release(owned);
    release(value);
    buf = joined;
    owned = undefined;
  };
  const more = async (): Promise<boolean> => {
    const value = await next();
    if (!value) return false;
    if (buf.length === 0) switchTo(value);
    else join(value);
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
      if (owned) release(owned);
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
        const value = await next();
        if (!value) throw new MultipartError("The multipart body ends inside a part");
        // A delimiter starting in the kept bytes ends within the chunk's first bytes: when none
        // does, the kept bytes are content and the chunk is read in place, not joined in a copy.
        const junction =
          value.length >= delimiter.length && Buffer.concat([buf, value.subarray(0, delimiter.length - 1)]);
        if (junction && junction.indexOf(delimiter) < 0) {
          if (buf.length > 0) yield view(buf);
          switchTo(value);
        } else {
          join(value);
        }
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
          chunks.push(chunk.slice()); // valid only until the next chunk is asked for
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
