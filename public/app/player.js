/**
 * The deployment's player, shared by the watch page and the embed page: dash.js where Media
 * Source Extensions exist, with a quality menu (Auto and each rung) and a captions menu (Off and
 * each text track of the manifest); the HLS master in the <video> element itself elsewhere
 * (Safari on iPhone), whose own controls offer the captions there.
 *
 *   startPlayer(video, sources, controls, options) → Promise<{ kind: "dash" | "hls", player? }>
 *     sources:  { dash, hls, poster }
 *     controls: { quality, captions, current, bar, notice } (elements, each optional)
 *     options:  { autoplay, muted, start, loop }
 */
const DASH_PLAYER = "/vendor/dashjs/dash.mediaplayer.min.js";

export const supportsMse = () => "MediaSource" in window || "ManagedMediaSource" in window;
const label = (representation) => (representation?.height ? `${representation.height}p` : "");
const trackLabel = (track) => track.labels?.[0]?.text ?? track.labels?.[0] ?? track.lang ?? "Captions";

async function playDash(video, sources, controls, options) {
  const { MediaPlayer } = await import(DASH_PLAYER);
  const player = MediaPlayer().create();
  const events = MediaPlayer.events;
  /** The rung on screen (as last rendered), and the one asked for in the menu (null: Auto). */
  let rendered = null;
  let chosen = null;
  const { quality, captions, current, bar, notice } = controls;

  const showCurrent = () => {
    if (!current) return;
    const now = label(rendered);
    if (chosen && chosen.id !== rendered?.id) current.textContent = `Switching to ${label(chosen)}…`;
    else if (now) current.textContent = chosen ? `Playing ${now}` : `Auto: playing ${now}`;
    else current.textContent = "";
  };

  /** The captions track the viewer picked (an index into the text tracks), or null for off. */
  let wantedText = null;
  /** dash.js's text tracks once it has put them on the <video> (TEXT_TRACKS_ADDED), in its order. */
  let shownTexts = null;
  const applyText = () => {
    const track = wantedText === null ? undefined : player.getTracksFor("text")[wantedText];
    if (shownTexts) {
      // The track to show is set directly: enableText() keeps its own idea of what was enabled,
      // and a choice made before the tracks came can leave it thinking captions are off.
      const at = track ? shownTexts.findIndex((t) => t.lang === track.lang) : -1;
      player.setTextTrack(track && at < 0 ? wantedText : at);
      return;
    }
    if (!track) return void player.enableText(false);
    player.enableText(true);
    player.setCurrentTrack(track);
  };

  player.on(events.STREAM_INITIALIZED, () => {
    const rungs = [...player.getRepresentationsByType("video")].sort((a, b) => b.height - a.height);
    if (quality) {
      quality.replaceChildren(new Option("Auto", "auto"), ...rungs.map((r) => new Option(label(r), r.id)));
      quality.value = "auto";
    }
    const texts = player.getTracksFor("text");
    if (captions) {
      captions.replaceChildren(new Option("Off", "off"), ...texts.map((t, i) => new Option(trackLabel(t), String(i))));
      captions.value = "off";
      captions.hidden = texts.length === 0;
      if (captions.labels?.[0]) captions.labels[0].hidden = texts.length === 0;
    }
    // Captions stay off until the viewer picks a track.
    applyText();
    if (bar) bar.hidden = rungs.length === 0 && texts.length === 0;
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
    if (notice) notice.textContent = `Playback problem${detail ? `: ${detail}` : ""}`;
  });

  quality?.addEventListener("change", () => {
    const auto = quality.value === "auto";
    chosen = auto ? null : player.getRepresentationsByType("video").find((r) => r.id === quality.value);
    player.updateSettings({ streaming: { abr: { autoSwitchBitrate: { video: auto } } } });
    // Replace what is buffered, so the chosen rung shows now rather than after the buffer drains.
    if (chosen) player.setRepresentationForTypeById("video", chosen.id, true);
    showCurrent();
  });
  captions?.addEventListener("change", () => {
    wantedText = captions.value === "off" ? null : Number(captions.value);
    applyText();
  });
  // The text tracks reach the <video> element after the stream is initialised: a choice made in
  // between is applied again once they are there.
  player.on(events.TEXT_TRACKS_ADDED, (event) => {
    shownTexts = event.tracks ?? [];
    applyText();
  });

  video.muted = options.muted;
  video.loop = options.loop;
  player.initialize(video, sources.dash, options.autoplay, options.start > 0 ? options.start : undefined);
  return { kind: "dash", player };
}

function playHls(video, sources, options) {
  video.muted = options.muted;
  video.loop = options.loop;
  video.src = options.start > 0 ? `${sources.hls}#t=${options.start}` : sources.hls;
  if (options.autoplay) video.play().catch(() => {});
  return { kind: "hls" };
}

/** Plays a video's sources in `video`; throws when the browser can play neither. */
export async function startPlayer(video, sources, controls = {}, options = {}) {
  const settings = { autoplay: false, muted: false, start: 0, loop: false, ...options };
  if (sources.poster) video.poster = sources.poster;
  if (supportsMse() && sources.dash) return playDash(video, sources, controls, settings);
  if (sources.hls && video.canPlayType("application/vnd.apple.mpegurl")) return playHls(video, sources, settings);
  throw new Error("This browser can play neither MPEG-DASH nor HLS video.");
}
