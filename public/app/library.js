/** The library: public videos that are ready, newest first, with search and pages. */
import { api, describeError } from "./api.js";
import { formatDate, formatDuration, h } from "./format.js";

const params = new URLSearchParams(location.search);
const PAGE_SIZE = Math.min(100, Math.max(1, Number.parseInt(params.get("page_size") ?? "24", 10) || 24));

function videoCard(video) {
  const watch = `/watch?v=${encodeURIComponent(video.slug)}`;
  return h(
    "li",
    { class: "card" },
    h(
      "a",
      { class: "card-link", href: watch },
      h(
        "div",
        { class: "thumb" },
        video.poster_url
          ? h("img", { src: video.poster_url, alt: "", loading: "lazy", width: 320, height: 180 })
          : h("span", { class: "placeholder" }, "No preview"),
        video.duration
          ? h(
              "span",
              { class: "duration" },
              h("span", { class: "visually-hidden" }, "Duration "),
              formatDuration(video.duration),
            )
          : null,
      ),
      h("div", { class: "card-body" }, h("h2", { class: "card-title" }, video.title)),
    ),
    h(
      "p",
      { class: "meta card-meta" },
      [video.owner.username, formatDate(video.created_at)].filter(Boolean).join(" · "),
    ),
  );
}

function pageLink(page, search) {
  const link = new URLSearchParams(params);
  if (search) link.set("search", search);
  if (page > 1) link.set("page", String(page));
  else link.delete("page");
  const query = link.toString();
  return query ? `/?${query}` : "/";
}

async function show() {
  const search = (params.get("search") ?? "").trim();
  const page = Math.max(1, Number.parseInt(params.get("page") ?? "1", 10) || 1);
  document.querySelector("#search").value = search;
  const list = document.querySelector("#videos");
  const summary = document.querySelector("#summary");
  summary.textContent = "Loading…";
  const query = new URLSearchParams({ page: String(page), page_size: String(PAGE_SIZE) });
  if (search) query.set("search", search);
  try {
    const data = await api(`/api/videos/?${query}`);
    list.replaceChildren(...data.results.map(videoCard));
    const pages = Math.max(1, Math.ceil(data.count / PAGE_SIZE));
    summary.textContent =
      data.count === 0
        ? search
          ? `No videos match “${search}”.`
          : "No videos yet. Be the first to upload one!"
        : `${data.count} video${data.count === 1 ? "" : "s"}${search ? ` matching “${search}”` : ""}`;
    const pager = document.querySelector("#pager");
    pager.hidden = pages <= 1;
    document.querySelector("#page-info").textContent = `Page ${page} of ${pages}`;
    const prev = document.querySelector("#prev");
    const next = document.querySelector("#next");
    prev.hidden = !data.previous;
    next.hidden = !data.next;
    prev.href = pageLink(page - 1, search);
    next.href = pageLink(page + 1, search);
  } catch (err) {
    summary.textContent = "";
    document.querySelector("#error").textContent = describeError(err);
  }
}

show();
