/**
 * Following something the server is still working on: a look every 2 s, only while the tab is
 * visible (a hidden tab asks nothing and catches up as soon as it is shown again).
 */
import { api } from "./api.js";

export const POLL_MS = 2000;

/** A video is settled once it is ready or has failed: nothing more will change by itself. */
export const isSettled = (video) => video.status === "ready" || video.status === "failed";

/**
 * Runs `look` now, then again every POLL_MS while the tab is visible, as long as it resolves to
 * true. `refresh()` looks at once (e.g. after an edit) and carries on from there.
 */
export function pollWhileVisible(look) {
  let timer;
  let round = 0;
  async function refresh() {
    clearTimeout(timer);
    const mine = ++round;
    const again = await look();
    // A newer look (refresh, or the tab shown again) has taken over the schedule.
    if (mine !== round || !again) return;
    timer = setTimeout(whenVisible, POLL_MS);
  }
  function whenVisible() {
    if (document.visibilityState === "visible") refresh();
    else document.addEventListener("visibilitychange", refresh, { once: true });
  }
  refresh();
  return { refresh };
}

/**
 * Polls `GET /api/videos/{ref}/` (a slug or an id) until the video settles, handing each state
 * to `onVideo`. A failed look goes to `onError`, which returns true to keep polling.
 */
export function pollVideo(ref, { onVideo, onError }) {
  return pollWhileVisible(async () => {
    try {
      const video = await api(`/api/videos/${encodeURIComponent(ref)}/`);
      onVideo(video);
      return !isSettled(video);
    } catch (err) {
      return onError(err);
    }
  });
}
