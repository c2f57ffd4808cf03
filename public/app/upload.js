/**
 * Upload page: straight to the bucket when the platform offers it (GET /api/config/:
 * `direct_uploads`; ./direct-upload.js), else a resumable tus upload (tus-js-client, loaded as
 * /vendor/tus-js-client/tus.min.js), with bytes, speed and time left; pause and resume; an
 * automatic continuation after a dropped connection, and for tus after a closed tab (the upload
 * URL is remembered per file in localStorage); then the video's processing progress until it is
 * ready or failed. A direct upload whose first part cannot reach the bucket (its CORS rule, a
 * network that blocks it) is dropped and the file goes through tus instead.
 */
import { ApiError, api, authHeaders, describeError, requireSession } from "./api.js";
import { DirectUpload } from "./direct-upload.js";
import { formatBytes, formatSpeed, formatTimeLeft } from "./format.js";
import { pollVideo } from "./poll.js";

/** Each PATCH stays well below the platform's 100 MB request-body limit. */
const MAX_CHUNK_SIZE = 50 * 1024 * 1024;
/** tus-js-client's own retries for a failing request; after them we wait for the network. */
const RETRY_DELAYS = [0, 1000, 3000, 5000, 10000];
const RECONNECT_DELAYS = [2000, 5000, 10000, 20000, 30000];

const session = requireSession();
const $ = (selector) => document.querySelector(selector);
const form = $("#upload-form");
const fileInput = $("#file");
const dropzone = $("#dropzone");
const transfer = $("#transfer");
const processing = $("#processing");
const pauseButton = $("#pause");
const cancelButton = $("#cancel");
const bar = $("#upload-progress");

/**
 * Bytes per PATCH: 50 MiB, or less when `streambuddy.uploadChunkSize` is set in localStorage
 * (useful on flaky connections, where a smaller chunk loses less when a request breaks).
 */
function chunkSize() {
  const chosen = Number(localStorage.getItem("streambuddy.uploadChunkSize"));
  return chosen >= 64 * 1024 ? Math.min(chosen, MAX_CHUNK_SIZE) : MAX_CHUNK_SIZE;
}

/**
 * Whether the first bytes are those of a container the platform takes (MP4/MOV, Matroska/WebM,
 * AVI, MPEG-TS), so an obvious mistake is caught before anything is sent. The server checks again.
 */
async function looksLikeVideo(candidate) {
  const head = new Uint8Array(await candidate.slice(0, 377).arrayBuffer());
  const text = (at, length) => String.fromCharCode(...head.subarray(at, at + length));
  return (
    ["ftyp", "moov", "mdat", "free", "wide", "skip", "pnot"].includes(text(4, 4)) ||
    (head[0] === 0x1a && head[1] === 0x45 && head[2] === 0xdf && head[3] === 0xa3) ||
    (text(0, 4) === "RIFF" && text(8, 4) === "AVI ") ||
    (head.length === 377 && head[0] === 0x47 && head[188] === 0x47 && head[376] === 0x47)
  );
}

let file = null;
let fileProblem = null;
let upload = null;
/** uploading | paused | offline | done | error */
let state = "idle";
let resumedEarlierUpload = false;
let reconnectTimer;
let reconnectAttempt = 0;
const samples = [];

// ---- choosing a file ----------------------------------------------------------------------

async function choose(chosen) {
  if (!chosen || state === "uploading") return;
  file = null;
  $("#chosen").textContent = `${chosen.name} (${formatBytes(chosen.size)})`;
  $("#file-error").textContent = "";
  fileInput.removeAttribute("aria-invalid");
  fileProblem = (await looksLikeVideo(chosen))
    ? null
    : `${chosen.name} is not a video this platform can take (MP4, MOV, MKV, WebM, AVI or MPEG-TS).`;
  if (fileProblem) return fieldError(fileInput, fileProblem);
  file = chosen;
  const title = $("#title");
  if (!title.value.trim()) {
    title.value = chosen.name
      .replace(/\.[^.]+$/, "")
      .replace(/[_]+/g, " ")
      .trim()
      .slice(0, 200);
  }
}

/** The check of the file last picked, which a quick submit waits for. */
let choosing = Promise.resolve();
fileInput.addEventListener("change", () => {
  choosing = choose(fileInput.files?.[0]);
});
for (const type of ["dragenter", "dragover"]) {
  dropzone.addEventListener(type, (event) => {
    event.preventDefault();
    dropzone.classList.add("dragging");
  });
}
for (const type of ["dragleave", "drop"]) {
  dropzone.addEventListener(type, () => dropzone.classList.remove("dragging"));
}
// A file dropped anywhere on the page is taken, rather than opened by the browser.
window.addEventListener("dragover", (event) => event.preventDefault());
window.addEventListener("drop", (event) => {
  event.preventDefault();
  const dropped = event.dataTransfer?.files?.[0];
  if (dropped && !form.hidden) {
    fileInput.files = event.dataTransfer.files;
    choosing = choose(dropped);
  }
});

function fieldError(input, message) {
  $(`#${input.id}-error`).textContent = message;
  input.setAttribute("aria-invalid", "true");
  return input;
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  await choosing;
  for (const el of form.querySelectorAll(".field-error, #form-error")) el.textContent = "";
  for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
  const invalid = [];
  if (!file) invalid.push(fieldError(fileInput, fileProblem ?? "Choose a video file to upload."));
  const title = $("#title");
  if (!title.value.trim()) invalid.push(fieldError(title, "Give the video a title."));
  if (invalid.length) return invalid[0].focus();
  if (!window.tus?.isSupported) {
    $("#form-error").textContent = "This browser cannot upload files in chunks. Please use a current browser.";
    return;
  }
  start();
});

// ---- the transfer -------------------------------------------------------------------------

function fields() {
  const metadata = {
    filename: file.name,
    filetype: file.type || "application/octet-stream",
    title: $("#title").value.trim(),
    description: $("#description").value,
    visibility: $("#visibility").value,
  };
  const maxResolution = $("#max-resolution").value;
  if (maxResolution) metadata.max_resolution = maxResolution;
  return metadata;
}

function setState(next, message) {
  state = next;
  transfer.dataset.state = next;
  $("#upload-status").textContent = message;
  pauseButton.parentElement.hidden = next === "done";
  pauseButton.hidden = next === "done" || next === "error";
  pauseButton.textContent = next === "uploading" ? "Pause" : next === "offline" ? "Retry now" : "Resume";
  cancelButton.hidden = next === "done";
  if (next !== "uploading") {
    samples.length = 0;
    $("#upload-rate").textContent = "";
  }
}

function showProgress(sent, total) {
  const now = performance.now();
  // After a reconnection the count restarts from what the server holds.
  if (samples.length && sent < samples[samples.length - 1].bytes) samples.length = 0;
  samples.push({ at: now, bytes: sent });
  while (samples.length > 2 && now - samples[0].at > 5000) samples.shift();
  const seconds = (now - samples[0].at) / 1000;
  const speed = seconds >= 0.5 ? (sent - samples[0].bytes) / seconds : Number.NaN;
  const percent = total > 0 ? Math.floor((sent / total) * 100) : 0;
  bar.max = total;
  bar.value = sent;
  bar.dataset.percent = String(percent);
  bar.setAttribute("aria-valuetext", `${percent}%`);
  $("#upload-bytes").textContent = `${formatBytes(sent)} of ${formatBytes(total)} (${percent}%)`;
  if (state === "uploading" && sent < total) {
    $("#upload-rate").textContent =
      speed > 0 ? `${formatSpeed(speed)} · ${formatTimeLeft((total - sent) / speed)}` : "Measuring speed…";
  }
}

const statusOf = (err) => err?.originalResponse?.getStatus?.() ?? err?.status ?? 0;

/** The API's message for a refused request, from its error envelope. */
function messageOf(err) {
  if (err instanceof ApiError) return err.message;
  try {
    const body = JSON.parse(err.originalResponse.getBody());
    if (body?.error?.message) return body.error.message;
  } catch {}
  return err?.message ?? String(err);
}

/** Worth trying again: no answer at all, a server error, or an offset conflict tus can settle. */
const isTransient = (status) => status === 0 || status >= 500 || status === 409 || status === 423;

/** Whether this deployment takes uploads straight to its bucket. */
async function directUploadsOffered() {
  try {
    return (await api("/api/config/")).direct_uploads === true;
  } catch {
    return false;
  }
}

async function start() {
  form.hidden = true;
  transfer.hidden = false;
  $("#transfer-name").textContent = file.name;
  showProgress(0, file.size);
  if (await directUploadsOffered()) return startDirect();
  return startTus();
}

function startDirect() {
  transfer.dataset.via = "direct";
  upload = new DirectUpload(file, { fields: fields(), onProgress: showProgress, onError: failed, onSuccess: finished });
  setState("uploading", "Uploading…");
  upload.start();
  pauseButton.focus();
}

async function startTus(message) {
  transfer.dataset.via = "tus";
  upload = new window.tus.Upload(file, {
    endpoint: "/api/uploads/",
    chunkSize: chunkSize(),
    retryDelays: RETRY_DELAYS,
    headers: authHeaders(),
    metadata: fields(),
    // Per user and file, so the same file picked again (even after a reload) continues.
    fingerprint: async (f) => ["streambuddy", session.user.id, f.name, f.type, f.size, f.lastModified].join(":"),
    storeFingerprintForResuming: true,
    removeFingerprintOnSuccess: true,
    onProgress: showProgress,
    onShouldRetry: (err, attempt) => {
      const retry = isTransient(statusOf(err)) && navigator.onLine !== false;
      if (retry) setState("uploading", `Connection trouble: trying again (attempt ${attempt + 1})…`);
      return retry;
    },
    onChunkComplete: () => {
      if (state === "uploading") reconnectAttempt = 0;
    },
    onError: failed,
    onSuccess: finished,
  });
  const earlier = await upload.findPreviousUploads();
  if (earlier.length > 0) {
    earlier.sort((a, b) => String(b.creationTime).localeCompare(String(a.creationTime)));
    upload.resumeFromPreviousUpload(earlier[0]);
    resumedEarlierUpload = true;
  }
  setState(
    "uploading",
    resumedEarlierUpload ? "Continuing an earlier upload of this file…" : (message ?? "Uploading…"),
  );
  upload.start();
  pauseButton.focus();
}

function failed(err) {
  const status = statusOf(err);
  const unreachable = status === 0 || status === 501;
  if (upload instanceof DirectUpload && !upload.storedAnything && unreachable && navigator.onLine !== false) {
    // Nothing reached the bucket: it is out of this page's reach. The platform takes the file.
    upload.abort(true).catch(() => {});
    return startTus("The storage cannot be reached from this page; uploading through the platform instead…");
  }
  if (isTransient(status)) return waitForNetwork();
  if (status === 401) {
    upload.abort();
    return requireSession();
  }
  setState("error", `The upload stopped: ${messageOf(err)}`);
  cancelButton.textContent = "Choose another file";
}

/** Keeps the upload and continues from the server's offset once the connection is back. */
function waitForNetwork() {
  clearTimeout(reconnectTimer);
  const offline = navigator.onLine === false;
  const delay = RECONNECT_DELAYS[Math.min(reconnectAttempt++, RECONNECT_DELAYS.length - 1)];
  setState(
    "offline",
    offline
      ? "Connection lost. The upload continues where it stopped when you are back online."
      : `The server cannot be reached. Trying again in ${Math.round(delay / 1000)} s…`,
  );
  reconnectTimer = setTimeout(() => {
    if (navigator.onLine === false) waitForNetwork();
    else resume("Reconnecting…");
  }, delay);
}

window.addEventListener("online", () => {
  if (state === "offline") resume("Back online: continuing the upload…");
});
window.addEventListener("offline", () => {
  if (state === "uploading") $("#upload-status").textContent = "Connection lost. Waiting for it to come back…";
});

function resume(message) {
  clearTimeout(reconnectTimer);
  setState("uploading", message);
  upload.start();
}

pauseButton.addEventListener("click", async () => {
  if (state === "uploading") {
    await upload.abort();
    setState("paused", "Paused. Resume whenever you like; the bytes already sent are kept.");
  } else if (state === "paused" || state === "offline") {
    reconnectAttempt = 0;
    resume("Uploading…");
  }
});

cancelButton.addEventListener("click", async () => {
  if (state !== "error" && !confirm("Cancel this upload? What was sent so far is discarded.")) return;
  clearTimeout(reconnectTimer);
  cancelButton.disabled = true;
  try {
    await upload.abort(true);
  } catch {
    // Nothing (left) to delete on the server.
  }
  location.assign("/upload");
});

window.addEventListener("beforeunload", (event) => {
  if (["uploading", "paused", "offline"].includes(state)) event.preventDefault();
});

async function finished() {
  clearTimeout(reconnectTimer);
  showProgress(file.size, file.size);
  setState("done", `Upload complete: ${formatBytes(file.size)} sent.`);
  const videoId =
    upload instanceof DirectUpload
      ? upload.videoId
      : new URL(upload.url, location.href).pathname.split("/").filter(Boolean).pop();
  if (resumedEarlierUpload) {
    // The earlier upload carried the details typed back then; keep the ones on the page now.
    const { title, description, visibility } = fields();
    await api(`/api/videos/${encodeURIComponent(videoId)}/`, {
      method: "PATCH",
      body: { title, description, visibility },
    }).catch(() => {});
  }
  processing.hidden = false;
  processing.dataset.videoId = videoId;
  followProcessing(videoId);
}

// ---- processing ---------------------------------------------------------------------------

function showProcessing(video) {
  processing.dataset.status = video.status;
  const progress = $("#processing-progress");
  progress.hidden = video.status === "failed";
  const text = {
    uploading: "Waiting for the upload to be confirmed…",
    queued: "Queued: waiting for a transcoder…",
    processing: video.playable
      ? `Processing: ${video.progress}%. It can be watched already, from the start.`
      : `Processing: ${video.progress}%`,
    ready: "Ready to watch.",
    failed: "Processing failed.",
  }[video.status];
  $("#processing-status").textContent = text;
  if (video.status === "queued" || video.status === "uploading") progress.removeAttribute("value");
  else progress.value = video.status === "ready" ? 100 : video.progress;
  progress.setAttribute("aria-valuetext", text);
  $("#processing-error").textContent = video.error ? video.error.message || video.error.code : "";
  const watch = $("#watch-link");
  watch.hidden = video.status !== "ready" && !video.playable;
  watch.href = `/watch?v=${encodeURIComponent(video.slug)}`;
}

function followProcessing(videoId) {
  pollVideo(videoId, {
    onVideo: showProcessing,
    onError(err) {
      if (err instanceof ApiError && err.status === 404) {
        $("#processing-status").textContent = "This video no longer exists.";
        return false;
      }
      $("#processing-error").textContent = `Could not check on the video: ${describeError(err)}`;
      return true;
    },
  });
}
