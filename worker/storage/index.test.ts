import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { freshPrefix, testS3Config } from "../testing/storage";
import { createStore, loadStorageSettings, StorageConfigError } from "./index";

const s3Env = () => {
  const config = testS3Config();
  return {
    STORAGE_BACKEND: "s3",
    S3_ENDPOINT: config.endpoint,
    S3_BUCKET: config.bucket,
    S3_ACCESS_KEY_ID: config.accessKeyId,
    S3_SECRET_ACCESS_KEY: config.secretAccessKey,
    S3_FORCE_PATH_STYLE: "true",
  };
};

describe("storage settings", () => {
  it("default to the R2 binding, without presigning", () => {
    const settings = loadStorageSettings({});
    expect(settings).toMatchObject({
      backend: "r2",
      problems: [],
      s3: { endpoint: "", region: "us-east-1", bucket: "", forcePathStyle: false },
    });
    const store = createStore(env, settings);
    expect(store.backend).toBe("r2");
    expect(store.canPresign).toBe(false);
  });

  it("read every S3 setting, as .dev.vars.example lists them (empty values are defaults)", () => {
    const settings = loadStorageSettings({
      STORAGE_BACKEND: " S3 ",
      S3_ENDPOINT: "https://s3.eu-central-1.wasabisys.com",
      S3_REGION: "eu-central-1",
      S3_BUCKET: "media",
      S3_FORCE_PATH_STYLE: "yes",
      S3_ACCESS_KEY_ID: "key",
      S3_SECRET_ACCESS_KEY: "secret",
    });
    expect(settings).toEqual({
      backend: "s3",
      s3: {
        endpoint: "https://s3.eu-central-1.wasabisys.com",
        region: "eu-central-1",
        bucket: "media",
        forcePathStyle: true,
        accessKeyId: "key",
        secretAccessKey: "secret",
      },
      problems: [],
    });
    expect(loadStorageSettings({ S3_REGION: "", S3_FORCE_PATH_STYLE: "" }).problems).toEqual([]);
  });

  it("name R2's S3 region `auto` when the endpoint is R2's", () => {
    expect(loadStorageSettings({ S3_ENDPOINT: "https://acc.r2.cloudflarestorage.com" }).s3.region).toBe("auto");
  });

  it("refuse bad values loudly, naming the setting", () => {
    expect(loadStorageSettings({ STORAGE_BACKEND: "gcs" }).problems).toEqual([
      'STORAGE_BACKEND must be r2 or s3, not "gcs"',
    ]);
    expect(loadStorageSettings({ S3_FORCE_PATH_STYLE: "maybe" }).problems[0]).toContain("S3_FORCE_PATH_STYLE");
    expect(loadStorageSettings({ S3_ENDPOINT: "s3.amazonaws.com" }).problems[0]).toContain("S3_ENDPOINT");
    expect(loadStorageSettings({ S3_ENDPOINT: "https://host/with/path" }).problems[0]).toContain("S3_ENDPOINT");
    const bucket = {
      STORAGE_BACKEND: "s3",
      S3_BUCKET: "media",
      S3_ACCESS_KEY_ID: "key",
      S3_SECRET_ACCESS_KEY: "secret",
    };
    for (const local of ["http://127.0.0.1:9000", "http://localhost:9000/", "http://[::1]:9000"]) {
      expect(loadStorageSettings({ ...bucket, S3_ENDPOINT: local }).problems).toEqual([
        `S3_ENDPOINT ${local} has no host name to put the bucket in: set S3_FORCE_PATH_STYLE=true`,
      ]);
      expect(loadStorageSettings({ ...bucket, S3_ENDPOINT: local, S3_FORCE_PATH_STYLE: "true" }).problems).toEqual([]);
    }
    expect(loadStorageSettings({ STORAGE_BACKEND: "s3", S3_BUCKET: "media" }).problems).toEqual([
      "STORAGE_BACKEND=s3 needs S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY",
    ]);
    expect(loadStorageSettings({ S3_ACCESS_KEY_ID: "key" }).problems[0]).toBe(
      "Presigned URLs on R2 need all of S3_ENDPOINT, S3_BUCKET, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY; missing S3_ENDPOINT, S3_BUCKET, S3_SECRET_ACCESS_KEY",
    );
  });

  it("make createStore refuse to build a store from unusable settings", () => {
    const settings = loadStorageSettings({ STORAGE_BACKEND: "s3" });
    const err = (() => {
      try {
        createStore(env, settings);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(StorageConfigError);
    expect((err as StorageConfigError).problems).toEqual(settings.problems);
    expect((err as Error).message).toContain("S3_BUCKET");
  });
});

describe("createStore", () => {
  it("builds the S3 backend that the settings name, and it reaches that bucket", async () => {
    const store = createStore(env, loadStorageSettings(s3Env()));
    expect(store.backend).toBe("s3");
    expect(store.canPresign).toBe(true);
    const key = `${freshPrefix("create")}x`;
    await store.put(key, "through settings");
    expect(await (await store.get(key))?.text()).toBe("through settings");
  });

  it("keeps storing in the R2 binding when the S3 settings name R2's S3 endpoint, and presigns through it", async () => {
    const store = createStore(env, loadStorageSettings({ ...s3Env(), STORAGE_BACKEND: "r2" }));
    expect(store.backend).toBe("r2");
    expect(store.canPresign).toBe(true);
    const key = `${freshPrefix("create-r2")}x`;
    await store.put(key, "in the binding");
    expect(await (await env.MEDIA.get(key))?.text()).toBe("in the binding");
    const url = new URL(await store.presignGet(key, 60));
    expect(url.origin).toBe(testS3Config().endpoint);
  });
});
