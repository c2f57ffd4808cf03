/**
 * An upload straight to the bucket (POST /api/videos/direct-upload/): the file's parts are PUT to
 * the presigned URLs the API hands out, so the bytes never pass through the Worker, and the upload
 * is completed with each part's ETag. Shaped like the part of tus-js-client's Upload the upload
 * page uses: start() (also to continue after abort()), abort(terminate), and onProgress, onError,
 * onSuccess. A part that fails is sent again whole; the parts already stored are kept.
 */
import { ApiError, api } from "./api.js";

/** Tries of one part before the upload reports an error (the page then waits for the network). */
const PART_RETRY_DELAYS = [0, 1000, 3000];

export class DirectUpload {
  /**
   * @param {File} file
   * @param {{ fields: Record<string, string>, onProgress(sent: number, total: number): void,
   *   onError(err: Error): void, onSuccess(video: object): void }} options
   */
  constructor(file, options) {
    this.file = file;
    this.options = options;
    /** The answer that started it: `{video, upload_id, part_size, part_count, parts, parts_url, complete_url}`. */
    this.started = null;
    /** ETags of the stored parts, by part number. */
    this.etags = new Map();
    this.urls = new Map();
    this.xhr = null;
    this.stopped = false;
  }

  get videoId() {
    return this.started?.video.id ?? null;
  }

  /** Whether any part reached the bucket (when none did, the bucket may be out of the browser's reach). */
  get storedAnything() {
    return this.etags.size > 0;
  }

  async start() {
    this.stopped = false;
    try {
      if (!this.started) {
        const { filename, filetype, ...fields } = this.options.fields;
        this.started = await api("/api/videos/direct-upload/", {
          method: "POST",
          body: { ...fields, filename, type: filetype, size: this.file.size },
        });
        for (const part of this.started.parts) this.urls.set(part.number, part.url);
      }
      const { part_count: count } = this.started;
      for (let number = 1; number <= count; number++) {
        if (this.etags.has(number)) continue;
        if (this.stopped) return;
        this.etags.set(number, await this.sendPart(number));
      }
      if (this.stopped) return;
      const parts = [...this.etags].sort((a, b) => a[0] - b[0]).map(([number, etag]) => ({ number, etag }));
      const video = await api(this.started.complete_url, { method: "POST", body: { parts } });
      this.options.onSuccess(video);
    } catch (err) {
      if (!this.stopped) this.options.onError(err);
    }
  }

  /** Stops sending (the part on its way is sent again on start()); `terminate` drops the upload. */
  async abort(terminate = false) {
    this.stopped = true;
    this.xhr?.abort();
    if (terminate && this.started) {
      await api(`/api/videos/direct-upload/${encodeURIComponent(this.started.upload_id)}/`, { method: "DELETE" });
    }
  }

  async urlFor(number) {
    if (!this.urls.has(number)) {
      const more = await api(`${this.started.parts_url}?from=${number}&count=100`);
      for (const part of more.parts) this.urls.set(part.number, part.url);
    }
    return this.urls.get(number);
  }

  async sendPart(number) {
    const size = this.started.part_size;
    const body = this.file.slice((number - 1) * size, Math.min(number * size, this.file.size));
    let lastError;
    for (const delay of PART_RETRY_DELAYS) {
      if (delay) await new Promise((resolve) => setTimeout(resolve, delay));
      if (this.stopped) throw new ApiError(0, { message: "Paused" });
      try {
        return await this.put(await this.urlFor(number), body, (number - 1) * size);
      } catch (err) {
        lastError = err;
        // A refusal by the bucket (an expired URL, a bad signature) is not sent again.
        if (err.status >= 400 && err.status < 500) break;
      }
    }
    throw lastError;
  }

  /** One PUT with its progress; resolves with the part's ETag, which the bucket's CORS rule must expose. */
  put(url, body, before) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      this.xhr = xhr;
      xhr.open("PUT", url);
      xhr.upload.onprogress = (event) => this.options.onProgress(before + event.loaded, this.file.size);
      xhr.onload = () => {
        const etag = xhr.getResponseHeader("ETag");
        if (xhr.status >= 200 && xhr.status < 300 && etag) return resolve(etag);
        if (xhr.status >= 200 && xhr.status < 300) {
          return reject(new ApiError(0, { message: "The bucket does not expose ETag to this page (its CORS rule)" }));
        }
        reject(new ApiError(xhr.status, { message: `The bucket refused a part (${xhr.status})` }));
      };
      xhr.onerror = () => reject(new ApiError(0, null));
      xhr.onabort = () => reject(new ApiError(0, { message: "Paused" }));
      xhr.send(body);
    });
  }
}
