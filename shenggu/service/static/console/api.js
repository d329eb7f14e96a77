// The console's only way to the server: fetch with the API key of this tab's session (sessionStorage), JSON
// errors turned into ApiError with the server's code and message, WebSocket URLs with the key as api_key.
const KEY_STORAGE = "shenggu.console.key";

export class ApiError extends Error {
  constructor(status, code, message, body = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.body = body;
  }
}

export function apiKey() {
  return sessionStorage.getItem(KEY_STORAGE) || "";
}

export function setApiKey(key) {
  if (key) sessionStorage.setItem(KEY_STORAGE, key);
  else sessionStorage.removeItem(KEY_STORAGE);
}

let onUnauthorized = () => {};

/** What to do when the server says the key is no longer valid (the app signs the user out). */
export function whenUnauthorized(callback) {
  onUnauthorized = callback;
}

function urlFor(path, query) {
  const url = new URL(path, location.origin);
  for (const [name, value] of Object.entries(query || {})) {
    if (value === undefined || value === null || value === "") continue;
    for (const item of Array.isArray(value) ? value : [value]) url.searchParams.append(name, String(item));
  }
  return url;
}

/** One request. opts: json (body object), form (FormData), query (object), signal, expect ("json" | "blob" |
 * "text"). Resolves to the parsed body; rejects with ApiError (status 0 when the server cannot be reached). */
export async function request(method, path, opts = {}) {
  const headers = {};
  const key = apiKey();
  if (key) headers.Authorization = `Bearer ${key}`;
  let body;
  if (opts.json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(opts.json);
  } else if (opts.form) {
    body = opts.form;
  }
  let response;
  try {
    response = await fetch(urlFor(path, opts.query), { method, headers, body, signal: opts.signal });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, "network", error.message || "network error");
  }
  if (!response.ok) {
    let parsed = null;
    try {
      parsed = await response.json();
    } catch {
      parsed = null;
    }
    const detail = (parsed && parsed.error) || {};
    const failure = new ApiError(response.status, detail.code || `http_${response.status}`,
      detail.message || response.statusText || `HTTP ${response.status}`, parsed);
    if (response.status === 401 && key) onUnauthorized(failure);
    throw failure;
  }
  const expect = opts.expect || "json";
  if (response.status === 204) return null;
  if (expect === "blob") return response.blob();
  if (expect === "text") return response.text();
  return response.json();
}

export const get = (path, opts) => request("GET", path, opts);
export const post = (path, opts) => request("POST", path, opts);
export const put = (path, opts) => request("PUT", path, opts);
export const patch = (path, opts) => request("PATCH", path, opts);
export const del = (path, opts) => request("DELETE", path, opts);

/** A ws:// (or wss://) URL on this server with the key as ``api_key`` (browsers cannot set headers on sockets). */
export function socketUrl(path, query = {}) {
  const url = urlFor(path, { ...query, api_key: apiKey() });
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  return url.toString();
}
