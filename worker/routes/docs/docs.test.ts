import { describe, expect, it } from "vitest";
import { callApp } from "../../testing/api";

const get = (path: string) => callApp(path);

describe("API description and viewers", () => {
  it("serves an OpenAPI 3.1 description that documents /healthz", async () => {
    const res = await get("/openapi.json");
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.paths["/healthz"]).toBeDefined();
  });

  for (const path of ["/swagger/", "/redoc/"]) {
    it(`serves ${path} with every script and style from this origin`, async () => {
      const res = await get(path);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toContain("text/html");
      const html = await res.text();
      const urls = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
      expect(urls.length).toBeGreaterThan(0);
      for (const url of urls) expect(url).toMatch(/^\/(?!\/)/);
      expect(html).toContain("/openapi.json");
    });
  }
});
