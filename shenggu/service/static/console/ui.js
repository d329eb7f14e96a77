// Small DOM helpers shared by every page: an element builder, labelled fields, tables, the alert line, drafts that
// survive a re-render or reload of the tab, downloads and number/time formats.
import { ApiError } from "./api.js";
import { language, t } from "./i18n.js";

/** el("button", {class: "primary", onclick: fn, text: "Go"}, child, ...): attributes starting with "on" become
 * listeners, ``dataset`` an object of data-*, ``text`` the text content; null/false children are skipped. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "text") node.textContent = value;
    else if (name === "class") node.className = value;
    else if (name === "dataset") Object.assign(node.dataset, value);
    else if (name.startsWith("on") && typeof value === "function") node.addEventListener(name.slice(2), value);
    else if (value === true) node.setAttribute(name, "");
    else if (name in node && typeof node[name] !== "function" && !name.includes("-")) node[name] = value;
    else node.setAttribute(name, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

let fieldCounter = 0;

/** A labelled form field: the label (a string key) tied to the control by id, with an optional help line. */
export function field(labelKey, control, helpKey = null) {
  if (!control.id) control.id = `f${++fieldCounter}`;
  const help = helpKey ? el("small", { class: "help", id: `${control.id}-help`, text: t(helpKey) }) : null;
  if (help) control.setAttribute("aria-describedby", help.id);
  return el("div", { class: "field" }, el("label", { for: control.id, text: t(labelKey) }), control, help);
}

/** A <select> of [value, labelKey] pairs. */
export function select(options, value = null, attrs = {}) {
  const node = el("select", attrs, options.map(([v, key]) => el("option", { value: v, text: t(key) })));
  if (value !== null) node.value = value;
  return node;
}

/** A table: columns = [[labelKey, row => cell content]], rows = objects. Empty → one "none yet" line. */
export function table(columns, rows, attrs = {}) {
  const head = el("thead", {}, el("tr", {}, columns.map(([key]) => el("th", { scope: "col", text: t(key) }))));
  const body = el("tbody", {});
  for (const row of rows) body.append(el("tr", {}, columns.map(([, cell]) => el("td", {}, cell(row)))));
  if (!rows.length) body.append(el("tr", {}, el("td", { colspan: columns.length, class: "empty", text: t("common.none") })));
  return el("div", { class: "table-wrap" }, el("table", attrs, head, body));
}

const flashNode = () => document.getElementById("flash");

/** Show a message in the page's alert line (kind "error" or "info"); it stays until replaced or dismissed. */
export function flash(message, kind = "error") {
  const node = flashNode();
  node.replaceChildren(el("span", { text: message }),
    el("button", { type: "button", class: "link", text: t("common.close"), onclick: clearFlash }));
  node.className = `flash ${kind}`;
  node.setAttribute("role", kind === "error" ? "alert" : "status");
  node.hidden = false;
}

export function clearFlash() {
  const node = flashNode();
  node.hidden = true;
  node.replaceChildren();
}

/** A readable sentence for any failure (the server's own message for API errors). */
export function errorText(error) {
  if (error instanceof ApiError) {
    if (error.status === 0) return t("common.network");
    // The app signs the user out on a 401; the page whose request failed then says the same thing, translated.
    if (error.status === 401) return t("signin.bad");
    return t("common.error", { message: error.message });
  }
  return t("common.error", { message: (error && error.message) || String(error) });
}

export function showError(error) {
  flash(errorText(error), "error");
}

/** Run action() with the button disabled and marked busy; errors go to the alert line. Returns its result. */
export async function busy(button, action) {
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  try {
    return await action();
  } catch (error) {
    if (error.name !== "AbortError") showError(error);
    return undefined;
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
}

/** Keep what the user typed in ``control`` in this tab's session storage under ``name``, so a re-render, a
 * language switch or a reload never loses it. Restores the saved value now. */
export function keepDraft(control, name) {
  const storageKey = `shenggu.console.draft.${name}`;
  const saved = sessionStorage.getItem(storageKey);
  const isBox = control.type === "checkbox";
  if (saved !== null) {
    if (isBox) control.checked = saved === "1";
    else control.value = saved;
  }
  const store = () => sessionStorage.setItem(storageKey, isBox ? (control.checked ? "1" : "0") : control.value);
  control.addEventListener("input", store);
  control.addEventListener("change", store);
  return control;
}

/** Offer a Blob as a file download. */
export function download(blob, fileName) {
  const url = URL.createObjectURL(blob);
  const link = el("a", { href: url, download: fileName });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

/** 75.3 → "1:15.3" (minutes:seconds), for times in transcripts and players. */
export function clock(seconds, decimals = 1) {
  const whole = Math.max(0, seconds || 0);
  const minutes = Math.floor(whole / 60);
  const rest = (whole - minutes * 60).toFixed(decimals).padStart(decimals ? 3 + decimals : 2, "0");
  return `${minutes}:${rest}`;
}

/** A date-time in the console's language. */
export function when(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? String(iso) : date.toLocaleString(language() === "zh" ? "zh-CN" : "en-GB");
}

/** A number with a fixed count of decimals, "–" when missing. */
export function num(value, decimals = 2) {
  return value === null || value === undefined || Number.isNaN(value) ? "–" : Number(value).toFixed(decimals);
}

/** A page's heading (focused after navigation so screen readers announce the page). */
export function heading(key) {
  return el("h1", { text: t(key), tabindex: "-1", class: "page-title" });
}

/** A progress bar with a visible percentage, as {node, set(fraction)}. */
export function progressBar(labelKey) {
  const bar = el("progress", { max: 1, value: 0 });
  const label = el("span", { class: "progress-text", text: "0 %" });
  const node = el("div", { class: "progress", role: "group", "aria-label": t(labelKey) }, bar, label);
  return {
    node,
    set(fraction) {
      const value = Math.max(0, Math.min(1, fraction || 0));
      bar.value = value;
      label.textContent = `${Math.round(value * 100)} %`;
    },
  };
}
