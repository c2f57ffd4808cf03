/**
 * Watch page (/watch?v=<slug or id>): the shared player (public/app/player.js: dash.js with the
 * quality and captions menus, HLS in the <video> element where only that plays), a seek bar
 * with storyboard previews on hover, and download links when the owner allows them. The owner
 * of a private video gets signed playback URLs in the video's JSON. A video that is not ready
 * yet says where it stands and is looked at again until it is; one that plays while processing
 * (`playable`) starts playing at once, with a note of its progress until it is ready.
 */
import { ApiError, describeError } from "./api.js";
import { formatDate, formatDuration, h, STATUS_TEXT } from "./format.js";
import { startPlayer } from "./player.js";
import { pollVideo } from "./poll.js";
import { attachSeekBar, parseStoryboard } from "./storyboard.js";

const $ = (selector) => document.querySelector(selector);
const videoEl = $("#video");
const notice = $("#notice");
const ref = new URLSearchParams(location.search).get("v");
/** Set once the player runs: later looks at the video only refresh the details. */
let playing = false;

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

/** A video that is not ready yet: say where it stands (it is looked at again until it settles). */
function showWaiting(video) {
  const text = {
    uploading: "This video is still being uploaded.",
    queued: "This video is still processing: it is queued for a transcoder.",
    processing: video.playable
      ? `This video is still processing (${video.progress}%): it plays from the start while the rest is encoded.`
      : `This video is still processing (${video.progress}%). It plays here as soon as it is ready.`,
    failed: `This video could not be processed${video.error?.message ? `: ${video.error.message}` : "."}`,
  }[video.status];
  notice.textContent = text ?? STATUS_TEXT[video.status];
  notice.dataset.status = video.status;
}

/** The seek bar with previews from the storyboard; a missing or broken index costs only the previews. */
async function seekBar(video) {
  let cues = [];
  if (video.storyboard_url) {
    try {
      const res = await fetch(video.storyboard_url);
      if (res.ok) cues = parseStoryboard(await res.text(), video.storyboard_url);
    } catch {}
  }
  const bar = $("#seek");
  bar.dataset.previews = String(cues.length);
  attachSeekBar(bar, videoEl, cues);
}

/** Links to the MP4 of each rung and the audio alone, beside the playback files. */
function showDownloads(video) {
  const box = $("#downloads");
  if (!video.downloadable || !video.dash_url) {
    box.hidden = true;
    return;
  }
  const base = video.dash_url.replace(/manifest\.mpd$/, "");
  const links = [
    ...video.renditions.map((r) =>
      h("a", { href: `${base}download/${r.height}p.mp4`, download: "" }, `${r.height}p MP4`),
    ),
    h("a", { href: `${base}download/audio.m4a`, download: "" }, "Audio (M4A)"),
  ];
  box.querySelector("[data-links]").replaceChildren(...links);
  box.hidden = false;
}

async function play(video) {
  playing = true;
  await startPlayer(
    videoEl,
    { dash: video.dash_url, hls: video.hls_url, poster: video.poster_url },
    {
      quality: $("#quality"),
      captions: $("#captions"),
      current: $("#current-quality"),
      bar: $("#player-bar"),
      notice,
    },
    { autoplay: true },
  );
  await seekBar(video);
}

function load(video) {
  showDetails(video);
  if (video.status !== "ready") {
    showWaiting(video);
    // A video still processing plays once its start is encoded (`playable`), from the same URLs.
    if (!video.playable) return;
  } else {
    notice.textContent = "";
    delete notice.dataset.status;
    showDownloads(video);
  }
  if (playing) return;
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
