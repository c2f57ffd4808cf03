/**
 * My videos: every upload of the signed-in user in every state, refreshed while any is still
 * on its way to ready; edit (title, description, visibility, downloads, the poster's frame),
 * captions (add a WebVTT or SRT file per language, remove one) and delete.
 */
import { ApiError, api, describeError, requireSession } from "./api.js";
import { formatBytes, formatDate, formatDuration, h, STATUS_TEXT } from "./format.js";
import { pollWhileVisible } from "./poll.js";

const params = new URLSearchParams(location.search);
const PAGE_SIZE = Math.min(100, Math.max(1, Number.parseInt(params.get("page_size") ?? "20", 10) || 20));
const VISIBILITY_TEXT = { public: "Public", unlisted: "Unlisted", private: "Private" };

const session = requireSession();
const list = document.querySelector("#videos");
const errorBox = document.querySelector("#error");
const dialog = document.querySelector("#edit-dialog");
const editForm = document.querySelector("#edit-form");
const captionsDialog = document.querySelector("#captions-dialog");
const captionForm = document.querySelector("#caption-form");
const page = Math.max(1, Number.parseInt(params.get("page") ?? "1", 10) || 1);
/** @type {Map<string, object>} */
const shown = new Map();
/** Looks at the list again while any video is still on its way (poll.js). */
let listing;
let editing = null;
/** The video whose captions the captions dialog shows. */
let captioning = null;

function pageHref(n) {
  const link = new URLSearchParams(params);
  link.set("page", String(n));
  return `/mine?${link}`;
}

const watchHref = (video) => `/watch?v=${encodeURIComponent(video.slug)}`;
const inProgress = (video) => ["uploading", "queued", "processing"].includes(video.status);

/** "next in line", "3 ahead in line", with the estimated start when the API gives one. */
function queueText(video) {
  const ahead = video.queue_position;
  if (ahead === null || ahead === undefined) return "Queued: waiting for a runner";
  const place = ahead === 0 ? "next in line" : `${ahead} ahead in line`;
  const startsIn = video.estimated_start_at ? (Date.parse(video.estimated_start_at) - Date.now()) / 1000 : null;
  if (startsIn === null || !Number.isFinite(startsIn)) return `Queued: ${place}`;
  if (startsIn < 60) return `Queued: ${place}, starting in a moment`;
  return `Queued: ${place}, starting in about ${Math.round(startsIn / 60)} min`;
}

function statusLine(video) {
  if (video.status === "processing") return `Processing: ${video.progress}%`;
  if (video.status === "queued") return queueText(video);
  if (video.status === "uploading") return "Upload not finished";
  return null;
}

function row(video) {
  const rungs = video.renditions.map((r) => `${r.height}p`).join(", ");
  const facts = [
    video.duration ? formatDuration(video.duration) : null,
    video.size ? formatBytes(video.size) : null,
    rungs || null,
    formatDate(video.created_at),
  ].filter(Boolean);
  const titleId = `title-${video.id}`;
  return h(
    "li",
    { class: "video-row", "data-id": video.id, "aria-labelledby": titleId },
    h(
      "div",
      { class: "thumb" },
      video.poster_url
        ? h("img", { src: video.poster_url, alt: "", loading: "lazy", width: 160, height: 90 })
        : h("span", { class: "placeholder" }, STATUS_TEXT[video.status]),
    ),
    h(
      "div",
      {},
      h(
        "h2",
        { id: titleId },
        video.status === "ready" ? h("a", { href: watchHref(video) }, video.title) : video.title,
      ),
      h(
        "div",
        { class: "badges" },
        h("span", { class: `badge status-${video.status}`, "data-status": video.status }, STATUS_TEXT[video.status]),
        h("span", { class: "badge" }, VISIBILITY_TEXT[video.visibility]),
      ),
      inProgress(video)
        ? h(
            "div",
            { class: "progress-block" },
            h("progress", {
              max: 100,
              value: video.progress,
              "aria-label": `Processing progress of ${video.title}`,
            }),
            h("div", { class: "progress-numbers" }, statusLine(video)),
          )
        : null,
      video.error ? h("p", { class: "error-text" }, video.error.message || video.error.code) : null,
      h("p", { class: "meta" }, facts.join(" · ")),
    ),
    h(
      "div",
      { class: "actions" },
      video.status === "ready"
        ? h("a", { class: "button", href: watchHref(video), "data-action": "watch" }, "Watch")
        : null,
      h(
        "button",
        { type: "button", "data-action": "edit", "aria-describedby": titleId, onclick: () => openEditor(video) },
        "Edit",
      ),
      h(
        "button",
        {
          type: "button",
          "data-action": "captions",
          "aria-describedby": titleId,
          onclick: () => openCaptions(video),
        },
        video.captions.length > 0 ? `Captions (${video.captions.length})` : "Captions",
      ),
      h(
        "button",
        {
          type: "button",
          class: "danger",
          "data-action": "delete",
          "aria-describedby": titleId,
          onclick: () => remove(video),
        },
        "Delete",
      ),
    ),
  );
}

/** Replaces a row, keeping keyboard focus on the same control. */
function replaceRow(old, video) {
  const focused = old.contains(document.activeElement) ? document.activeElement?.dataset.action : null;
  const fresh = row(video);
  old.replaceWith(fresh);
  if (focused) fresh.querySelector(`[data-action="${focused}"]`)?.focus();
}

const signature = (v) =>
  `${v.updated_at}|${v.status}|${v.progress}|${v.poster_url}|${v.title}|${v.visibility}|${v.captions.length}`;

function render(videos) {
  const ids = videos.map((v) => v.id);
  const sameSet = ids.length === shown.size && ids.every((id) => shown.has(id));
  if (sameSet) {
    for (const video of videos) {
      const before = shown.get(video.id);
      if (signature(before) !== signature(video)) {
        replaceRow(list.querySelector(`[data-id="${CSS.escape(video.id)}"]`), video);
      }
    }
  } else {
    list.replaceChildren(...videos.map(row));
  }
  shown.clear();
  for (const video of videos) shown.set(video.id, video);
}

/** Shows the current page of the list; resolves to whether anything on it is still changing. */
async function load() {
  try {
    const data = await api(`/api/videos/?mine=1&page=${page}&page_size=${PAGE_SIZE}`);
    errorBox.textContent = "";
    render(data.results);
    const summary = document.querySelector("#summary");
    summary.textContent =
      data.count === 0 ? "You have not uploaded any videos yet." : `${data.count} video${data.count === 1 ? "" : "s"}`;
    const pages = Math.max(1, Math.ceil(data.count / PAGE_SIZE));
    document.querySelector("#pager").hidden = pages <= 1;
    document.querySelector("#page-info").textContent = `Page ${page} of ${pages}`;
    const prev = document.querySelector("#prev");
    const next = document.querySelector("#next");
    prev.hidden = !data.previous;
    next.hidden = !data.next;
    prev.href = pageHref(page - 1);
    next.href = pageHref(page + 1);
    return data.results.some(inProgress);
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      requireSession();
      return false;
    }
    errorBox.textContent = describeError(err);
    return true;
  }
}

const posterTime = editForm.querySelector("#edit-poster-time");
const posterPreview = editForm.querySelector("#edit-poster-preview");

/** The frame a poster time would show: the stored thumbnail nearest it, beside the playback files. */
function showPosterPreview() {
  const base = editing?.dash_url?.replace(/manifest\.mpd$/, "");
  const time = posterTime.value === "" ? null : Number(posterTime.value);
  if (!base) return;
  posterPreview.src =
    time === null || !Number.isFinite(time)
      ? editing.poster_url
      : `${base}thumbnail.jpg?time=${Math.min(Math.max(0, time), editing.duration ?? 0)}&width=320`;
}
posterTime.addEventListener("input", showPosterPreview);

function openEditor(video) {
  editing = video;
  editForm.title.value = video.title;
  editForm.description.value = video.description;
  editForm.visibility.value = video.visibility;
  editForm.downloadable.checked = video.downloadable;
  // A poster can be picked among the frames the encode stored, which come with its storyboard.
  const framesStored = Boolean(video.storyboard_url);
  editForm.querySelector("#edit-poster").hidden = !framesStored;
  posterTime.value = video.poster_time ?? "";
  if (video.duration) posterTime.max = String(video.duration);
  if (framesStored) showPosterPreview();
  for (const id of ["#edit-error", "#edit-title-error", "#edit-poster-error"]) {
    document.querySelector(id).textContent = "";
  }
  editForm.title.removeAttribute("aria-invalid");
  posterTime.removeAttribute("aria-invalid");
  dialog.showModal();
  editForm.title.focus();
}

function closeEditor() {
  dialog.close();
  const id = editing?.id;
  editing = null;
  if (id) list.querySelector(`[data-id="${CSS.escape(id)}"] [data-action="edit"]`)?.focus();
}

editForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (!editing) return;
  const save = editForm.querySelector('button[type="submit"]');
  save.disabled = true;
  try {
    const body = {
      title: editForm.title.value,
      description: editForm.description.value,
      visibility: editForm.visibility.value,
      downloadable: editForm.downloadable.checked,
    };
    if (editing.storyboard_url) body.poster_time = posterTime.value === "" ? null : Number(posterTime.value);
    const updated = await api(`/api/videos/${encodeURIComponent(editing.id)}/`, { method: "PATCH", body });
    const old = list.querySelector(`[data-id="${CSS.escape(updated.id)}"]`);
    if (old) replaceRow(old, updated);
    shown.set(updated.id, updated);
    closeEditor();
  } catch (err) {
    const titleError = err instanceof ApiError ? err.details.find((d) => d.path === "title") : null;
    const posterError = err instanceof ApiError ? err.details.find((d) => d.path === "poster_time") : null;
    if (posterError) {
      document.querySelector("#edit-poster-error").textContent = err.message;
      posterTime.setAttribute("aria-invalid", "true");
      posterTime.focus();
    } else if (titleError) {
      document.querySelector("#edit-title-error").textContent = titleError.message;
      editForm.title.setAttribute("aria-invalid", "true");
      editForm.title.focus();
    } else {
      document.querySelector("#edit-error").textContent = describeError(err);
    }
  } finally {
    save.disabled = false;
  }
});
document.querySelector("#edit-cancel").addEventListener("click", closeEditor);
dialog.addEventListener("cancel", (event) => {
  event.preventDefault();
  closeEditor();
});

/** The caption file's type, from its name when the browser does not know it (SRT often). */
const captionType = (file) =>
  /\.srt$/i.test(file.name) ? "application/x-subrip" : /\.vtt$/i.test(file.name) ? "text/vtt" : file.type;

function showCaptionTracks(tracks) {
  const list = captionsDialog.querySelector("#caption-list");
  list.replaceChildren(
    ...tracks.map((track) =>
      h(
        "li",
        { "data-lang": track.lang },
        h("span", {}, h("strong", {}, track.label), ` (${track.lang})`),
        h(
          "button",
          {
            type: "button",
            class: "danger",
            "aria-label": `Remove ${track.label} captions`,
            onclick: () => removeCaption(track),
          },
          "Remove",
        ),
      ),
    ),
  );
  if (tracks.length === 0) list.replaceChildren(h("li", { class: "meta" }, "No captions yet."));
}

async function refreshCaptions() {
  const { results } = await api(`/api/videos/${encodeURIComponent(captioning.id)}/captions/`);
  showCaptionTracks(results);
  // The row's button counts the tracks.
  const fresh = await api(`/api/videos/${encodeURIComponent(captioning.id)}/`);
  const old = list.querySelector(`[data-id="${CSS.escape(fresh.id)}"]`);
  if (old) replaceRow(old, fresh);
  shown.set(fresh.id, fresh);
}

async function openCaptions(video) {
  captioning = video;
  captionsDialog.querySelector("#captions-video").textContent = video.title;
  captionsDialog.querySelector("#caption-error").textContent = "";
  captionForm.reset();
  showCaptionTracks(video.captions);
  captionsDialog.showModal();
  captionForm.lang.focus();
  await refreshCaptions().catch((err) => {
    captionsDialog.querySelector("#caption-error").textContent = describeError(err);
  });
}

async function removeCaption(track) {
  try {
    await api(`/api/videos/${encodeURIComponent(captioning.id)}/captions/${encodeURIComponent(track.lang)}/`, {
      method: "DELETE",
    });
    await refreshCaptions();
    captionForm.lang.focus();
  } catch (err) {
    captionsDialog.querySelector("#caption-error").textContent = describeError(err);
  }
}

captionForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const errorBox = captionsDialog.querySelector("#caption-error");
  const file = captionForm.file.files[0];
  const lang = captionForm.lang.value.trim();
  if (!lang || !file) {
    errorBox.textContent = "A language tag and a file are needed.";
    return;
  }
  const submit = captionForm.querySelector('button[type="submit"]');
  submit.disabled = true;
  try {
    const label = captionForm.label.value.trim();
    const query = label ? `?label=${encodeURIComponent(label)}` : "";
    await api(`/api/videos/${encodeURIComponent(captioning.id)}/captions/${encodeURIComponent(lang)}/${query}`, {
      method: "PUT",
      file,
      contentType: captionType(file),
    });
    errorBox.textContent = "";
    captionForm.reset();
    await refreshCaptions();
    captionForm.lang.focus();
  } catch (err) {
    // A malformed file's message names the line that failed.
    errorBox.textContent = describeError(err);
  } finally {
    submit.disabled = false;
  }
});

function closeCaptions() {
  captionsDialog.close();
  const id = captioning?.id;
  captioning = null;
  if (id) list.querySelector(`[data-id="${CSS.escape(id)}"] [data-action="captions"]`)?.focus();
}
document.querySelector("#captions-close").addEventListener("click", closeCaptions);
captionsDialog.addEventListener("cancel", (event) => {
  // The file input's own cancel (a file picker closed without a new choice) bubbles up to here.
  if (event.target !== captionsDialog) return;
  event.preventDefault();
  closeCaptions();
});

async function remove(video) {
  if (!confirm(`Delete “${video.title}”? The video and all its files are removed for good.`)) return;
  const item = list.querySelector(`[data-id="${CSS.escape(video.id)}"]`);
  const following = item?.nextElementSibling ?? item?.previousElementSibling;
  try {
    await api(`/api/videos/${encodeURIComponent(video.id)}/`, { method: "DELETE" });
    item?.remove();
    shown.delete(video.id);
    (following?.querySelector("[data-action]") ?? document.querySelector("h1")).focus();
    listing.refresh();
  } catch (err) {
    errorBox.textContent = describeError(err);
  }
}

if (session) {
  document.querySelector("h1").tabIndex = -1;
  listing = pollWhileVisible(load);
}
