import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { callApp } from "../testing/api";
import { loadSettings, SETTING_NAMES, SettingsError } from "./settings";

/** `NAME=value` lines of an env file, comments and blank lines skipped. */
function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m) out[m[1] as string] = m[2] as string;
  }
  return out;
}

const example = parseEnvFile((env as unknown as { TEST_DEV_VARS_EXAMPLE: string }).TEST_DEV_VARS_EXAMPLE);

describe(".dev.vars.example", () => {
  it("lists every setting of the schema, and nothing else", () => {
    expect(Object.keys(example).sort()).toEqual([...SETTING_NAMES].sort());
  });

  it("gives each setting the schema's default", () => {
    expect(loadSettings({ ...example })).toEqual(loadSettings({}));
  });
});

describe("loading settings", () => {
  it("uses the defaults where nothing is set", () => {
    const settings = loadSettings({});
    expect(settings).toMatchObject({
      environment: "development",
      maxUploadSize: 10 * 1024 ** 3,
      defaultVideoQuality: 1080,
      maxVideoQuality: 2160,
      corsAllowedOrigins: ["http://127.0.0.1:8787", "http://localhost:8787"],
      rateLimits: { enabled: true, anonymousPerDay: 100, userPerDay: 1000, uploadsPerDay: 10, streamingPerHour: 1000 },
      embedAllowedOrigins: ["*"],
    });
  });

  it("keeps an empty list where one is set empty, and takes numbers and flags as text", () => {
    const settings = loadSettings({ CORS_ALLOWED_ORIGINS: "", RATE_LIMIT_ENABLED: "off", MAX_UPLOAD_SIZE: "1000" });
    expect(settings.corsAllowedOrigins).toEqual([]);
    expect(settings.rateLimits.enabled).toBe(false);
    expect(settings.maxUploadSize).toBe(1000);
  });

  it.each([
    ["MAX_UPLOAD_SIZE", "ten gigabytes", /MAX_UPLOAD_SIZE must be a whole number.*ten gigabytes/],
    ["RATE_LIMIT_ENABLED", "maybe", /RATE_LIMIT_ENABLED must be true or false/],
    ["LOG_LEVEL", "loud", /LOG_LEVEL must be debug, info, warn or error/],
    ["DEFAULT_VIDEO_QUALITY", "full hd", /DEFAULT_VIDEO_QUALITY must be a height/],
    ["PUBLIC_BASE_URL", "video.example.com", /PUBLIC_BASE_URL must be an absolute URL/],
    ["ENVIRONMENT", "prod", /ENVIRONMENT must be one of/],
    ["UNIT_MAX_ATTEMPTS", "0", /UNIT_MAX_ATTEMPTS must be at least 1/],
    ["UNIT_LEASE_SECONDS", "5", /UNIT_LEASE_SECONDS must be at least 10/],
    ["LOCAL_RUNNER_TOKEN", "short", /LOCAL_RUNNER_TOKEN must be 32 to 256/],
    ["EMBED_ALLOWED_ORIGINS", "https://ok.example ftp://no", /EMBED_ALLOWED_ORIGINS must list origins .*ftp:\/\/no/],
  ])("refuses %s=%j with the setting's name instead of a silent default", (name, value, message) => {
    expect(() => loadSettings({ [name]: value })).toThrow(SettingsError);
    expect(() => loadSettings({ [name]: value })).toThrow(message);
  });

  it("names the secrets production lacks, without showing values", () => {
    let error: SettingsError | undefined;
    try {
      loadSettings({ ENVIRONMENT: "production", PLAYBACK_SIGNING_KEYS: "k1:a-real-secret-of-some-length" });
    } catch (err) {
      error = err as SettingsError;
    }
    expect(error?.missingSecrets).toEqual(["JOB_TOKEN_SECRET"]);
  });

  it.each(["production", "staging"])("refuses a local runner token in %s, without showing it", (environment) => {
    const token = "a-local-runner-token-that-must-not-leak-0123";
    const secrets = { JOB_TOKEN_SECRET: "s".repeat(32), PLAYBACK_SIGNING_KEYS: "k1:a-real-secret-of-some-length" };
    const load = () => loadSettings({ ENVIRONMENT: environment, LOCAL_RUNNER_TOKEN: token, ...secrets });
    expect(load).toThrow(/LOCAL_RUNNER_TOKEN is for development only/);
    expect(load).not.toThrow(new RegExp(token));
    expect(loadSettings({ ENVIRONMENT: "development", LOCAL_RUNNER_TOKEN: token }).runners.localToken).toBe(token);
  });
});

describe("a Worker with a bad setting", () => {
  it("answers 503 in the envelope instead of running on a value nobody chose", async () => {
    const res = await callApp("/api/videos/", {}, undefined, { MAX_UPLOAD_SIZE: "10GiB" });
    expect(res.status).toBe(503);
    const body = (await res.json()) as { error: { code: string; requestId: string } };
    expect(body.error.code).toBe("service_unavailable");
    expect(body.error.requestId).toBe(res.headers.get("x-request-id"));
  });
});
