/**
 * A stock tus client (tus-js-client) in its own process, so a test can kill it mid-upload:
 *   node test/e2e/tus-client.ts <endpoint> <apiKey> <file> <urlStorageFile> <chunkSize>
 * Prints `offset <n>` as bytes are acknowledged, `resumed <n>` when it continues an earlier
 * upload, and `done <uploadUrl>` at the end.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { basename } from "node:path";
import { type PreviousUpload, Upload, type UrlStorage } from "tus-js-client";

/** Remembers upload URLs in a JSON file, so a new process can resume what a killed one began. */
class JsonFileUrlStorage implements UrlStorage {
  private readonly path: string;
  constructor(path: string) {
    this.path = path;
  }
  private read(): Record<string, PreviousUpload & { fingerprint: string }> {
    return existsSync(this.path) ? JSON.parse(readFileSync(this.path, "utf8")) : {};
  }
  async findAllUploads() {
    return Object.values(this.read());
  }
  async findUploadsByFingerprint(fingerprint: string) {
    return Object.values(this.read()).filter((u) => u.fingerprint === fingerprint);
  }
  async removeUpload(key: string) {
    const all = this.read();
    delete all[key];
    writeFileSync(this.path, JSON.stringify(all));
  }
  async addUpload(fingerprint: string, upload: PreviousUpload) {
    const all = this.read();
    const key = `tus::${fingerprint}::${Date.now()}`;
    all[key] = { ...upload, urlStorageKey: key, fingerprint };
    writeFileSync(this.path, JSON.stringify(all));
    return key;
  }
}

const [endpoint, key, file, storagePath, chunk] = process.argv.slice(2);
if (!endpoint || !key || !file || !storagePath)
  throw new Error("usage: tus-client.ts endpoint key file storage [chunk]");
const data = readFileSync(file);

const upload = new Upload(data, {
  endpoint,
  chunkSize: Number(chunk ?? 8 * 1024 * 1024),
  headers: { Authorization: `Token ${key}` },
  metadata: { filename: basename(file), filetype: "video/mp4", title: `Resumable ${basename(file)}` },
  urlStorage: new JsonFileUrlStorage(storagePath),
  fingerprint: async () => `e2e:${file}:${data.length}`,
  retryDelays: [0, 500, 1000],
  storeFingerprintForResuming: true,
  removeFingerprintOnSuccess: false,
  onChunkComplete: (_size, accepted) => console.log(`offset ${accepted}`),
  onError: (err) => {
    console.log(`error ${err.message}`);
    process.exit(1);
  },
  onSuccess: () => {
    console.log(`done ${upload.url}`);
    process.exit(0);
  },
});

const previous = await upload.findPreviousUploads();
if (previous[0]) {
  upload.resumeFromPreviousUpload(previous[0]);
  console.log(`resumed ${previous[0].uploadUrl}`);
}
upload.start();
