/**
 * Seek-bar previews from a storyboard (`storyboard.vtt`: cues whose text is a sprite sheet and
 * a tile in it, `sheet.jpg#xywh=x,y,w,h`), and the seek bar that shows them.
 *
 *   parseStoryboard(text, indexUrl)      → [{ start, end, url, x, y, w, h }], sheet URLs absolute
 *   storyboardCueAt(cues, time)          → the cue showing `time`, or null
 *   attachSeekBar(bar, video, cues)      a seek bar over `video`: progress, click and keys to
 *                                        seek, and on hover a preview of the frame under the
 *                                        pointer, cropped from its sheet, with its time
 */
import { formatDuration } from "./format.js";

const TIME = /^(?:(\d+):)?(\d{1,2}):(\d{2})\.(\d{3})$/;
const seconds = (text) => {
  const m = TIME.exec(text.trim());
  return m ? Number(m[1] ?? 0) * 3600 + Number(m[2]) * 60 + Number(m[3]) + Number(m[4]) / 1000 : null;
};

/** The cues of a storyboard index; lines that are not such cues are skipped. */
export function parseStoryboard(text, indexUrl) {
  const cues = [];
  const lines = text.replace(/\r\n?/g, "\n").split("\n");
  for (let i = 0; i < lines.length; i++) {
    const timing = /^(\S+)\s+-->\s+(\S+)/.exec(lines[i]);
    if (!timing) continue;
    const start = seconds(timing[1]);
    const end = seconds(timing[2]);
    const target = /^(.+)#xywh=(\d+),(\d+),(\d+),(\d+)$/.exec((lines[i + 1] ?? "").trim());
    if (start === null || end === null || !target) continue;
    cues.push({
      start,
      end,
      url: new URL(target[1], indexUrl).href,
      x: Number(target[2]),
      y: Number(target[3]),
      w: Number(target[4]),
      h: Number(target[5]),
    });
  }
  return cues;
}

export function storyboardCueAt(cues, time) {
  return cues.find((c) => time >= c.start && time < c.end) ?? (time >= (cues.at(-1)?.end ?? 0) ? cues.at(-1) : null);
}

const clamp = (n, low, high) => Math.min(high, Math.max(low, n));

/**
 * Turns `bar` (an element holding `.seek-fill`, `.seek-preview` with `.seek-frame` and
 * `.seek-time`) into the video's seek bar. Previews need `cues`; without them it still seeks.
 */
export function attachSeekBar(bar, video, cues = []) {
  const fill = bar.querySelector(".seek-fill");
  const preview = bar.querySelector(".seek-preview");
  const frame = preview?.querySelector(".seek-frame");
  const label = preview?.querySelector(".seek-time");
  const duration = () => (Number.isFinite(video.duration) ? video.duration : 0);
  const timeAt = (clientX) => {
    const box = bar.getBoundingClientRect();
    return clamp((clientX - box.left) / box.width, 0, 1) * duration();
  };

  const showProgress = () => {
    const total = duration();
    const now = video.currentTime;
    if (fill) fill.style.width = `${total > 0 ? (now / total) * 100 : 0}%`;
    bar.setAttribute("aria-valuemax", String(Math.round(total)));
    bar.setAttribute("aria-valuenow", String(Math.round(now)));
    bar.setAttribute("aria-valuetext", `${formatDuration(now)} of ${formatDuration(total)}`);
  };
  for (const event of ["timeupdate", "durationchange", "loadedmetadata", "seeked"]) {
    video.addEventListener(event, showProgress);
  }
  showProgress();

  const showPreview = (clientX) => {
    const cue = storyboardCueAt(cues, timeAt(clientX));
    if (!preview || !frame || !cue) return;
    frame.style.width = `${cue.w}px`;
    frame.style.height = `${cue.h}px`;
    frame.style.backgroundImage = `url("${cue.url}")`;
    frame.style.backgroundPosition = `-${cue.x}px -${cue.y}px`;
    frame.dataset.sheet = cue.url;
    frame.dataset.xywh = `${cue.x},${cue.y},${cue.w},${cue.h}`;
    if (label) label.textContent = formatDuration(timeAt(clientX));
    // Centred on the pointer, kept inside the bar.
    const box = bar.getBoundingClientRect();
    const left = clamp(clientX - box.left - cue.w / 2, 0, Math.max(0, box.width - cue.w));
    preview.style.left = `${left}px`;
    preview.hidden = false;
  };
  const hidePreview = () => {
    if (preview) preview.hidden = true;
  };

  bar.addEventListener("pointermove", (event) => showPreview(event.clientX));
  bar.addEventListener("pointerleave", hidePreview);
  bar.addEventListener("click", (event) => {
    if (duration() > 0) video.currentTime = timeAt(event.clientX);
  });
  bar.addEventListener("keydown", (event) => {
    const step = { ArrowLeft: -5, ArrowRight: 5, PageDown: -30, PageUp: 30 }[event.key];
    if (event.key === "Home") video.currentTime = 0;
    else if (event.key === "End") video.currentTime = duration();
    else if (step !== undefined) video.currentTime = clamp(video.currentTime + step, 0, duration());
    else return;
    event.preventDefault();
  });
  bar.hidden = false;
}
