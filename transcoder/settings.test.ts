import { describe, expect, it } from "vitest";
import { containerRunnerEnv, INTERNAL_API_HOST } from "../shared/protocol.ts";
import { runnerSettingsFromEnv, SettingsError, settingsFromEnv } from "./settings.ts";

const token = `sbr_${"0a".repeat(32)}`;

describe("runner settings", () => {
  it("reads what a remote runner is started with, with defaults for the rest", () => {
    expect(runnerSettingsFromEnv({ RUNNER_API_BASE: "https://video.example.com/", RUNNER_TOKEN: token })).toEqual({
      apiBase: "https://video.example.com",
      token,
      concurrency: 1,
      name: null,
      host: "127.0.0.1",
      port: 8788,
    });
    expect(
      runnerSettingsFromEnv({
        RUNNER_API_BASE: "http://127.0.0.1:8787",
        RUNNER_TOKEN: token,
        RUNNER_CONCURRENCY: "3",
        HOST: "0.0.0.0",
        PORT: "0",
      }),
    ).toMatchObject({ apiBase: "http://127.0.0.1:8787", concurrency: 3, host: "0.0.0.0", port: 0 });
  });

  it("reads the environment the platform starts a container runner with", () => {
    expect(runnerSettingsFromEnv(containerRunnerEnv("container-3", token))).toMatchObject({
      apiBase: `http://${INTERNAL_API_HOST}`,
      token,
      name: "container-3",
    });
  });

  it.each([
    [{ RUNNER_TOKEN: token }, /RUNNER_API_BASE is required/],
    [{ RUNNER_API_BASE: "video.example.com", RUNNER_TOKEN: token }, /RUNNER_API_BASE must be an http\(s\) URL/],
    [{ RUNNER_API_BASE: "ftp://video.example.com", RUNNER_TOKEN: token }, /http\(s\) URL/],
    [{ RUNNER_API_BASE: "https://video.example.com/?x=1", RUNNER_TOKEN: token }, /without query/],
    [{ RUNNER_API_BASE: "https://video.example.com" }, /RUNNER_TOKEN is required/],
    [{ RUNNER_API_BASE: "https://video.example.com", RUNNER_TOKEN: "short" }, /not a runner token/],
    [{ RUNNER_API_BASE: "https://v.example", RUNNER_TOKEN: token, RUNNER_CONCURRENCY: "0" }, /RUNNER_CONCURRENCY/],
    [{ RUNNER_API_BASE: "https://v.example", RUNNER_TOKEN: token, RUNNER_CONCURRENCY: "65" }, /at most 64/],
    [{ RUNNER_API_BASE: "https://v.example", RUNNER_TOKEN: token, PORT: "http" }, /PORT must be a port number/],
  ])("refuses %j with a reason", (env, reason) => {
    expect(() => runnerSettingsFromEnv(env)).toThrow(SettingsError);
    expect(() => runnerSettingsFromEnv(env)).toThrow(reason);
  });

  it("refuses an unknown x264 preset by name", () => {
    expect(() => settingsFromEnv({ TRANSCODER_X264_PRESET: "warp" })).toThrow(/TRANSCODER_X264_PRESET must be one of/);
  });
});
