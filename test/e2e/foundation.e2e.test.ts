import SwaggerParser from "@apidevtools/swagger-parser";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { launchBrowser, localOnlyContext } from "./browser.ts";

const api = inject("apiUrl");
const runner = inject("runnerUrl");

describe("npm start", () => {
  it("serves the API's health, description and docs, and the local runner's health", async () => {
    expect(await (await fetch(`${api}/healthz`)).json()).toEqual({ ok: true });
    const doc = (await (await fetch(`${api}/openapi.json`)).json()) as { openapi: string };
    expect(doc.openapi).toBe("3.1.0");
    for (const path of ["/swagger/", "/redoc/", "/"]) {
      const res = await fetch(`${api}${path}`);
      expect(res.status, path).toBe(200);
      expect(res.headers.get("content-type")).toContain("text/html");
    }
    expect(await (await fetch(`${runner}/healthz`)).json()).toMatchObject({ ok: true });
  });

  it("serves an API description that an OpenAPI 3.1 validator accepts", async () => {
    const doc = await (await fetch(`${api}/openapi.json`)).json();
    // Schema and semantic checks (unique operation ids, declared path parameters, resolvable $refs);
    // it throws with every problem listed.
    const validated = await SwaggerParser.validate(doc);
    expect(validated.info.license).toMatchObject({ name: "MIT", identifier: "MIT" });
  });
});

describe("API docs in a browser with no third-party network", () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it("renders Swagger UI with the API's operations", async () => {
    const { context, blocked } = await localOnlyContext(browser);
    const page = await context.newPage();
    await page.goto(`${api}/swagger/`);
    await page.locator(".opblock-summary-path", { hasText: "/healthz" }).first().waitFor({ timeout: 30_000 });
    expect(await page.locator(".swagger-ui .info .title").textContent()).toContain("StreamBuddy Edge API");
    expect(blocked).toEqual([]);
    await context.close();
  });

  it("renders ReDoc with the API's operations", async () => {
    const { context, blocked } = await localOnlyContext(browser);
    const page = await context.newPage();
    await page.goto(`${api}/redoc/`);
    await page.locator("h2", { hasText: "Liveness" }).first().waitFor({ timeout: 30_000 });
    expect(await page.locator("h1").first().textContent()).toContain("StreamBuddy Edge API");
    expect(blocked).toEqual([]);
    await context.close();
  });
});
