/** URL slugs from titles: lowercase ASCII words joined by dashes, unique per video. */
export function slugify(title: string): string {
  const base = title
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 80)
    .replace(/-+$/g, "");
  return base || "video";
}

/** Candidates in order: the plain slug, then with a short random suffix. */
export function slugCandidates(title: string, count = 6): string[] {
  const base = slugify(title);
  const out = [base];
  for (let i = 1; i < count; i++) {
    const suffix = [...crypto.getRandomValues(new Uint8Array(3))].map((b) => b.toString(16).padStart(2, "0")).join("");
    out.push(`${base}-${suffix}`);
  }
  return out;
}
