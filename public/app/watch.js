/**
 * Watch page (/watch?v=<slug or id>): dash.js where Media Source Extensions exist, with a quality
 * menu (Auto and each rung); the HLS playlist in the <video> element itself elsewhere (Safari on
 * iPhone). The owner of a private video gets signed playback URLs in the video's JSON.
 */
import { ApiError, describeError } from "./api.js";
import { formatDate, formatDuration, STATUS_TEXT } from "./format.js";
import { pollVideo } from "./poll.js";

const DASH_PLAYER = "/vendor/dashjs/dash.mediaplayer.min.js";

const $ = (selector) => document.querySelector(selector);
const videoEl = $("#video");
const qualitySelect = $("#quality");
const currentQuality = $("#current-quality");
const notice = $("#notice");
const ref = new URLSearchParams(location.search).get("v");

function showDetails(video) {
  document.title = `${video.title} · StreamBuddy`;
  $("#title").textContent = video.title;
  $("#description").textContent = video.description;
  const facts = [
    video.owner.username ? `by ${video.owner.username}` : null,
    formatDate(video.created_at),
    video.duration ? formatDuration(video.duration) : null,
    video.visibility === "public" ? null : video.visibility === "private" ? "Private" : "Unlisted",
  ].filter(Boolean);
  $("#meta").textContent = facts.join(" · ");
  $("#video-page").hidden = false;
}

const supportsMse = () => "MediaSource" in window || "ManagedMediaSource" in window;
const label = (representation) => (representation?.height ? `${representation.height}p` : "");

async function playDash(video) {
  const { MediaPlayer } = await import(DASH_PLAYER);
  const player = MediaPlayer().create();
  const events = MediaPlayer.events;
  /** The rung on screen (as last rendered), and the one asked for in the menu (null: Auto). */
  let rendered = null;
  let chosen = null;

  const showCurrent = () => {
    const now = label(rendered);
    if (chosen && chosen.id !== rendered?.id) currentQuality.textContent = `Switching to ${label(chosen)}…`;
    else if (now) currentQuality.textContent = chosen ? `Playing ${now}` : `Auto: playing ${now}`;
    else currentQuality.textContent = "";
  };

  player.on(events.STREAM_INITIALIZED, () => {
    const rungs = [...player.getRepresentationsByType("video")].sort((a, b) => b.height - a.height);
    qualitySelect.replaceChildren(new Option("Auto", "auto"), ...rungs.map((r) => new Option(label(r), r.id)));
    qualitySelect.value = "auto";
    $("#player-bar").hidden = rungs.length === 0;
    rendered = player.getCurrentRepresentationForType("video");
    showCurrent();
  });
  player.on(events.QUALITY_CHANGE_RENDERED, (event) => {
    if (event.mediaType !== "video") return;
    rendered = event.newRepresentation;
    showCurrent();
  });
  player.on(events.ERROR, (event) => {
    const detail = event.error?.message ?? "";
    notice.textContent = `Playback problem${detail ? `: ${detail}` : ""}`;
  });

  qualitySelect.addEventListener("change", () => {
    const auto = qualitySelect.value === "auto";
    chosen = auto ? null : player.getRepresentationsByType("video").find((r) => r.id === qualitySelect.value);
    player.updateSettings({ streaming: { abr: { autoSwitchBitrate: { video: auto } } } });
    // Replace what is buffered, so the chosen rung shows now rather than after the buffer drains.
    if (chosen) player.setRepresentationForTypeById("video", chosen.id, true);
    showCurrent();
  });

  player.initialize(videoEl, video.dash_url, true);
}

function playHls(video) {
  videoEl.src = video.hls_url;
  videoEl.play().catch(() => {});
}

async function play(video) {
  if (video.poster_url) videoEl.poster = video.poster_url;
  if (supportsMse() && video.dash_url) return playDash(video);
  if (video.hls_url && videoEl.canPlayType("application/vnd.apple.mpegurl")) return playHls(video);
  notice.textContent = "This browser can play neither MPEG-DASH nor HLS video.";
}

/** A video that is not ready yet: say where it stands (it is looked at again until it settles). */
function showWaiting(video) {
  const text = {
    uploading: "This video is still being uploaded.",
    queued: "This video is queued for processing.",
    processing: `This video is being processed (${video.progress}%). It plays here as soon as it is ready.`,
    failed: `This video could not be processed${video.error?.message ? `: ${video.error.message}` : "."}`,
  }[video.status];
  notice.textContent = text ?? STATUS_TEXT[video.status];
}

function load(video) {
  showDetails(video);
  if (video.status !== "ready") return showWaiting(video);
  notice.textContent = "";
  return play(video).catch((err) => {
    notice.textContent = `The player could not start: ${describeError(err)}`;
  });
}

function main() {
  if (!ref) {
    $("#error").textContent = "No video was given. Pick one in the library.";
    return;
  }
  let shown = false;
  pollVideo(ref, {
    onVideo(video) {
      shown = true;
      load(video);
    },
    onError(err) {
      if (shown) {
        notice.textContent = describeError(err);
        return true;
      }
      $("#error").textContent =
        err instanceof ApiError && err.status === 404
          ? "There is no such video, or it is private."
          : describeError(err);
      return false;
    },
  });
}

main();
