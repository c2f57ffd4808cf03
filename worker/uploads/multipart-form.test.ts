import { describe, expect, it } from "vitest";
import { boundaryOf, type FormPart, MultipartError, readMultipart } from "./multipart-form";

async function encode(fields: [string, string | Blob, string?][]) {
  const form = new FormData();
  for (const [k, v, filename] of fields) {
    if (typeof v === "string") form.append(k, v);
    else form.append(k, v, filename);
  }
  const res = new Response(form);
  return { bytes: new Uint8Array(await res.arrayBuffer()), contentType: res.headers.get("content-type") ?? "" };
}

/** The body delivered in pieces of `size` bytes, as a network would. */
function chunked(bytes: Uint8Array, size: number) {
  let at = 0;
  return new ReadableStream<Uint8Array>({
    pull(c) {
      if (at >= bytes.length) return c.close();
      c.enqueue(bytes.slice(at, at + size));
      at += size;
    },
  });
}

async function collect(parts: AsyncIterable<FormPart>) {
  const out: { name: string; filename: string | null; type: string | null; bytes: number[] }[] = [];
  for await (const p of parts) {
    const bytes: number[] = [];
    for await (const c of p.body) bytes.push(...c);
    out.push({ name: p.name, filename: p.filename, type: p.contentType, bytes });
  }
  return out;
}

const file = Uint8Array.from({ length: 5000 }, (_, i) => (i * 7) % 256);

describe("readMultipart", () => {
  for (const size of [1, 7, 64, 100_000]) {
    it(`reads fields and a binary file delivered in ${size}-byte pieces`, async () => {
      const { bytes, contentType } = await encode([
        ["title", "Hello ✓"],
        ["file", new Blob([file], { type: "video/mp4" }), "clip.mp4"],
        ["description", ""],
      ]);
      const boundary = boundaryOf(contentType);
      expect(boundary).toBeTruthy();
      const parts = await collect(readMultipart(chunked(bytes, size), boundary as string));
      expect(parts.map((p) => p.name)).toEqual(["title", "file", "description"]);
      expect(new TextDecoder().decode(Uint8Array.from(parts[0]?.bytes ?? []))).toBe("Hello ✓");
      expect(parts[1]).toMatchObject({ filename: "clip.mp4", type: "video/mp4" });
      expect(Uint8Array.from(parts[1]?.bytes ?? [])).toEqual(file);
      expect(parts[2]?.bytes).toEqual([]);
    });
  }

  for (const size of [1, 7, 64, 1000, 100_000]) {
    it(`hands each chunk back once, only after its bytes were passed on (${size}-byte pieces)`, async () => {
      const big = Uint8Array.from({ length: size < 64 ? 5000 : 300_000 }, (_, i) => (i * 13) % 251);
      const { bytes, contentType } = await encode([
        ["title", "Before ✓"],
        ["file", new Blob([big], { type: "video/mp4" }), "clip.mp4"],
        ["description", "after"],
      ]);
      const sent = new Set<Uint8Array>();
      const source = chunked(bytes, size);
      const reader = source.getReader();
      const counted = new ReadableStream<Uint8Array>({
        async pull(c) {
          const { value, done } = await reader.read();
          if (done) return c.close();
          sent.add(value);
          c.enqueue(value);
        },
      });
      const released: Uint8Array[] = [];
      // A released chunk is overwritten at once, as a reused buffer would be.
      const release = (chunk: Uint8Array) => {
        released.push(chunk);
        chunk.fill(0xee);
      };
      const parts = await collect(readMultipart(counted, boundaryOf(contentType) as string, { release }));
      expect(new TextDecoder().decode(Uint8Array.from(parts[0]?.bytes ?? []))).toBe("Before ✓");
      expect(Uint8Array.from(parts[1]?.bytes ?? [])).toEqual(big);
      expect(new TextDecoder().decode(Uint8Array.from(parts[2]?.bytes ?? []))).toBe("after");
      expect(new Set(released).size).toBe(released.length);
      expect(released.every((chunk) => sent.has(chunk))).toBe(true);
      expect(released.length).toBeGreaterThanOrEqual(sent.size - 1);
    });
  }

  it("skips a part whose body was not read", async () => {
    const { bytes, contentType } = await encode([
      ["file", new Blob([file]), "a.bin"],
      ["title", "after"],
    ]);
    const names: string[] = [];
    let title = "";
    for await (const p of readMultipart(chunked(bytes, 333), boundaryOf(contentType) as string)) {
      names.push(p.name);
      if (p.name === "title") title = await p.text();
    }
    expect(names).toEqual(["file", "title"]);
    expect(title).toBe("after");
  });

  it("refuses a body cut short", async () => {
    const { bytes, contentType } = await encode([["file", new Blob([file]), "a.bin"]]);
    const cut = bytes.slice(0, 3000);
    await expect(collect(readMultipart(chunked(cut, 500), boundaryOf(contentType) as string))).rejects.toBeInstanceOf(
      MultipartError,
    );
  });

  it("finds no boundary in a non-multipart content type", () => {
    expect(boundaryOf("application/json")).toBeNull();
    expect(boundaryOf("multipart/form-data")).toBeNull();
    expect(boundaryOf('multipart/form-data; boundary="abc"')).toBe("abc");
  });
});
