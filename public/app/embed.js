/**
 * Embed page (/embed/<id>): the Worker writes the video's sources and the player options into a
 * JSON data block (#embed-data); this plays them with the shared player, filling the frame.
 */
import { startPlayer } from "./player.js";

const video = document.getElementById("video");
const notice = document.getElementById("notice");
const data = JSON.parse(document.getElementById("embed-data").textContent);

if (!data.dash && !data.hls) {
  // The Worker gives no sources while the video is still being uploaded or processed.
  notice.textContent = "This video is not ready to play yet.";
} else {
  play();
}

function play() {
  return startPlayer(
    video,
    { dash: data.dash, hls: data.hls, poster: data.poster },
    {
      quality: document.getElementById("quality"),
      captions: document.getElementById("captions"),
      bar: document.getElementById("player-bar"),
      notice,
    },
    { autoplay: data.autoplay, muted: data.muted, start: data.start, loop: data.loop },
  ).catch((err) => {
    notice.textContent = err instanceof Error ? err.message : String(err);
  });
}
