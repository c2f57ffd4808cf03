/** What every page shares: the current page marked in the navigation, and the account area. */
import { api, clearSession, getSession } from "./api.js";
import { h } from "./format.js";

function markCurrentPage() {
  const here = location.pathname.replace(/\.html$/, "").replace(/\/index$/, "/");
  for (const link of document.querySelectorAll(".site-header nav a")) {
    if (new URL(link.href).pathname === here) link.setAttribute("aria-current", "page");
  }
}

async function logOut(button) {
  button.disabled = true;
  try {
    await api("/api/auth/logout/", { method: "POST" });
  } catch {
    // The key is forgotten here either way; a key the server already dropped is no loss.
  }
  clearSession();
  location.assign("/");
}

function renderAccount() {
  const area = document.querySelector("[data-account]");
  if (!area) return;
  const session = getSession();
  if (session) {
    const button = h("button", { type: "button", onclick: () => logOut(button) }, "Log out");
    area.replaceChildren(
      h(
        "span",
        { class: "who" },
        h("span", { class: "who-label" }, "Signed in as "),
        h("strong", {}, session.user.username),
      ),
      button,
    );
  } else {
    // Back to this page afterwards, except from the home page and the account pages themselves,
    // where the forms' own destinations (upload after signing up, My videos after logging in) fit better.
    const path = location.pathname.replace(/\.html$/, "");
    const query = ["/", "/index", "/login", "/signup"].includes(path)
      ? ""
      : `?next=${encodeURIComponent(location.pathname + location.search)}`;
    area.replaceChildren(
      h("a", { href: `/login${query}` }, "Log in"),
      h("a", { class: "button primary", href: `/signup${query}` }, "Sign up"),
    );
  }
}

markCurrentPage();
renderAccount();
window.addEventListener("session-change", renderAccount);
// Another tab logged in or out.
window.addEventListener("storage", renderAccount);
