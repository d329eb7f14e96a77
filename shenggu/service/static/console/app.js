// The shenggu console: a hash-routed single page (#/transcribe, #/jobs, ...) over the public API. Each page is a
// module in pages/ exporting {id, nav, admin, render(root)}; render may return a cleanup function that runs when
// the user leaves the page (close sockets, stop timers). The page in view is mirrored in <body data-page>.
import { apiKey, get, post, setApiKey, whenUnauthorized } from "./api.js";
import { language, setLanguage, t } from "./i18n.js";
import { clearFlash, el, errorText, field, flash, heading } from "./ui.js";
import transcribe from "./pages/transcribe.js";
import live from "./pages/live.js";
import speak from "./pages/speak.js";
import assess from "./pages/assess.js";
import jobs from "./pages/jobs.js";
import usage from "./pages/usage.js";
import keys from "./pages/keys.js";
import lists from "./pages/lists.js";
import evaluate from "./pages/evaluate.js";

const PAGES = [transcribe, live, speak, assess, jobs, evaluate, usage, lists, keys];
const root = document.getElementById("page");
const session = { me: null };
let cleanup = null;

function route() {
  const id = location.hash.replace(/^#\/?/, "").split("?")[0];
  return id || PAGES[0].id;
}

function renderChrome() {
  document.title = t("app.title");
  const nav = document.getElementById("nav");
  const current = route();
  const visible = session.me ? PAGES.filter((page) => !page.admin || session.me.admin) : [];
  nav.replaceChildren(el("ul", {}, visible.map((page) => el("li", {},
    el("a", { href: `#/${page.id}`, text: t(page.nav), "aria-current": page.id === current ? "page" : null })))));
  const who = document.getElementById("who");
  who.textContent = session.me ? t(session.me.admin ? "who.admin" : "who.user", { tenant: session.me.tenant }) : "";
  const signOutButton = document.getElementById("sign-out");
  signOutButton.textContent = t("signout");
  signOutButton.hidden = !session.me;
}

async function renderPage() {
  if (cleanup) {
    try {
      cleanup();
    } catch {
      /* a page's cleanup must never block navigation */
    }
    cleanup = null;
  }
  renderChrome();
  root.replaceChildren();
  if (!session.me) {
    document.body.dataset.page = "signin";
    renderSignIn();
    root.querySelector("h1").focus({ preventScroll: true });
    document.body.dataset.state = "ready";
    return;
  }
  const page = PAGES.find((candidate) => candidate.id === route());
  document.body.dataset.page = page ? page.id : "missing";
  if (!page) {
    root.append(heading("page.not_found"));
  } else if (page.admin && !session.me.admin) {
    root.append(heading("page.admin_only"));
  } else {
    try {
      cleanup = (await page.render(root, session)) || null;
    } catch (error) {
      flash(errorText(error));
    }
  }
  const title = root.querySelector("h1");
  if (title) title.focus({ preventScroll: true });
  document.body.dataset.state = "ready";
}

async function signIn(key) {
  setApiKey(key);
  try {
    session.me = await get("/v1/me");
  } catch (error) {
    setApiKey("");
    session.me = null;
    throw error;
  }
}

function signOut(message = null) {
  setApiKey("");
  session.me = null;
  for (const name of Object.keys(sessionStorage)) {
    if (name.startsWith("shenggu.console.")) sessionStorage.removeItem(name);
  }
  if (message) flash(message);
  renderPage();
}

function renderSignIn() {
  const input = el("input", { type: "password", autocomplete: "off", spellcheck: false, required: true });
  const form = el("form", { class: "card narrow", "aria-labelledby": "signin-title" },
    field("signin.key", input, "signin.help"),
    el("button", { type: "submit", class: "primary", text: t("signin.submit") }));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearFlash();
    try {
      await signIn(input.value.trim());
      renderPage();
    } catch (error) {
      flash(error.status === 401 ? t("signin.bad") : errorText(error));
      input.focus();
    }
  });
  const title = heading("signin.title");
  title.id = "signin-title";
  const setup = el("section", { class: "card narrow", hidden: true, "aria-labelledby": "setup-title" });
  root.append(title, form, setup);
  get("/v1/admin/setup").then((state) => {
    if (state && state.available) renderSetup(setup);
  }).catch(() => {});
}

function renderSetup(section) {
  const button = el("button", { type: "button", text: t("signin.setup.button") });
  section.replaceChildren(el("h2", { id: "setup-title", text: t("signin.setup.title") }),
    el("p", { text: t("signin.setup.text") }), button);
  section.hidden = false;
  button.addEventListener("click", async () => {
    try {
      const created = await post("/v1/admin/setup", { json: {} });
      const keyBox = el("input", { type: "text", readonly: true, value: created.key, class: "secret", id: "new-admin-key" });
      const go = el("button", { type: "button", class: "primary", text: t("signin.setup.continue") });
      go.addEventListener("click", async () => {
        await signIn(created.key);
        renderPage();
      });
      section.replaceChildren(el("h2", { id: "setup-title", text: t("signin.setup.title") }),
        field("signin.setup.done", keyBox), go);
      keyBox.select();
    } catch (error) {
      flash(errorText(error));
    }
  });
}

function start() {
  setLanguage(language());
  const switcher = document.getElementById("lang");
  switcher.value = language();
  switcher.addEventListener("change", () => {
    setLanguage(switcher.value);
    renderPage();
  });
  document.getElementById("sign-out").addEventListener("click", () => signOut());
  whenUnauthorized(() => signOut(t("signin.bad")));
  window.addEventListener("hashchange", () => {
    clearFlash();
    renderPage();
  });
  const key = apiKey();
  if (!key) return renderPage();
  signIn(key).catch(() => null).finally(renderPage);
}

start();
