/** Helpers for upload tests: forms, tus headers and MP4-like bytes. */

export function form(fields: Record<string, string | Blob>, filename = "clip.mp4") {
  const body = new FormData();
  for (const [k, v] of Object.entries(fields)) {
    if (typeof v === "string") body.append(k, v);
    else body.append(k, v, filename);
  }
  return body;
}

export const b64 = (s: string) => btoa(String.fromCharCode(...new TextEncoder().encode(s)));

export function tusMetadata(meta: Record<string, string>) {
  return Object.entries(meta)
    .map(([k, v]) => `${k} ${b64(v)}`)
    .join(",");
}

export const TUS = { "tus-resumable": "1.0.0" };

/** Deterministic bytes that start like an MP4. */
export function mp4Like(size: number): Uint8Array {
  const out = new Uint8Array(size);
  let x = 12345;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    out[i] = x >>> 16;
  }
  out.set([0, 0, 0, 0x20, 0x66, 0x74, 0x79, 0x70, 0x69, 0x73, 0x6f, 0x6d], 0);
  return out;
}
