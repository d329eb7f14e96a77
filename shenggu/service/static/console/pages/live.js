// Live: the microphone streamed to the WebSocket /v1/audio/stream (16 kHz PCM16 frames, the language and
// hotwords in the query); the partial line updates as the server guesses, finals are appended with their times.
// Faults (microphone refused, quota, stream limit, a lost connection) are said in words. Leaving the page, or a
// re-render, closes the socket and releases the microphone; the finals stay in this module for the return.
import { socketUrl } from "../api.js";
import { addStrings, t } from "../i18n.js";
import { clearFlash, clock, el, field, flash, heading, keepDraft, select } from "../ui.js";
import { MicrophoneError, SAMPLE_RATE, openMicrophone, toPcm16 } from "../microphone.js";
import { hotwordChooser } from "./transcribe.js";

const STOP_WAIT_MS = 30000; // after "end", how long the last finals may take before the socket is closed anyway

addStrings({
  zh: {
    "live.language": "语言", "live.hotwords": "热词（可选）", "live.start": "开始识别", "live.stop": "停止", "live.level": "输入音量",
    "live.status.idle": "按“开始识别”后对着麦克风说话。", "live.status.connecting": "正在打开麦克风并连接…",
    "live.status.listening": "正在聆听…", "live.status.stopping": "正在结束，等待最后的结果…",
    "live.status.stopped": "已结束。", "live.status.error": "已停止。",
    "live.partial": "正在识别", "live.finals": "识别结果", "live.none": "还没有结果。", "live.clear": "清空结果",
    "live.mic.unsupported": "此页面无法使用麦克风：需要通过 https 或在本机（localhost）打开控制台。",
    "live.mic.denied": "麦克风权限被拒绝：请在浏览器中允许此页面使用麦克风，然后重试。",
    "live.mic.not_found": "没有找到麦克风。", "live.mic.busy": "麦克风正被其他程序占用。",
    "live.mic.failed": "无法打开麦克风：{message}",
    "live.error.quota_exceeded": "本租户的用量已达上限，无法继续实时识别：{message}",
    "live.error.too_many_streams": "服务器的实时识别路数已满，请稍后再试。",
    "live.error.too_slow": "服务器跟不上这路音频，识别已结束：{message}",
    "live.error.closed": "与服务器的连接已断开（代码 {code}）。",
    "live.warning.falling_behind": "识别落后于音频 {seconds} 秒：暂停显示中间结果，直到赶上为止。",
  },
  en: {
    "live.language": "Language", "live.hotwords": "Hotwords (optional)", "live.start": "Start", "live.stop": "Stop",
    "live.level": "Input level",
    "live.status.idle": "Press Start, then speak into the microphone.",
    "live.status.connecting": "Opening the microphone and connecting…", "live.status.listening": "Listening…",
    "live.status.stopping": "Finishing: waiting for the last results…", "live.status.stopped": "Finished.",
    "live.status.error": "Stopped.",
    "live.partial": "Hearing", "live.finals": "Recognized", "live.none": "Nothing yet.", "live.clear": "Clear",
    "live.mic.unsupported": "This page cannot use a microphone: open the console over https or on this machine "
      + "(localhost).",
    "live.mic.denied": "The microphone was refused: allow this page to use it in the browser, then try again.",
    "live.mic.not_found": "No microphone was found.", "live.mic.busy": "Another program is using the microphone.",
    "live.mic.failed": "The microphone cannot be opened: {message}",
    "live.error.quota_exceeded": "This tenant's quota is used up; live recognition stopped: {message}",
    "live.error.too_many_streams": "The server is at its limit of live streams; try again later.",
    "live.error.too_slow": "The server fell behind this stream and ended it: {message}",
    "live.error.closed": "The connection to the server was lost (code {code}).",
    "live.warning.falling_behind": "Recognition is {seconds} s behind the audio: no partial results until it "
      + "catches up.",
  },
});

// What a re-render shows again: the finals, the last partial, how the last session ended.
const state = { status: "idle", partial: "", finals: [], partials: 0, language: "zh" };
let view = null;
let session = null; // {socket, mic, timer} while streaming

function setStatus(status) {
  state.status = status;
  if (!view) return;
  view.status.textContent = t(`live.status.${status}`);
  const active = status === "connecting" || status === "listening" || status === "stopping";
  view.start.disabled = active;
  view.stop.disabled = status !== "listening";
  showData();
}

function showData() {
  if (!view) return;
  Object.assign(view.page.dataset, {
    status: state.status, finals: String(state.finals.length), partials: String(state.partials),
    mic: session && session.mic ? "on" : "off",
  });
}

function showText() {
  if (!view) return;
  view.partial.textContent = state.partial;
  const lang = state.language === "en" ? "en" : "zh-CN";
  view.finals.replaceChildren(...state.finals.map((final) => el("li", { lang },
    el("span", { class: "time muted", text: `${clock(final.start)} – ${clock(final.end)}` }),
    el("span", { class: "text", text: final.text }))));
  view.none.hidden = state.finals.length > 0;
  showData();
}

function micMessage(error) {
  if (error instanceof MicrophoneError) return t(`live.mic.${error.code}`, { message: error.message });
  return t("live.mic.failed", { message: error.message || String(error) });
}

/** A server's error or warning in the console's language when its code is known, else its own message. */
function serverMessage(event, kind) {
  const key = `live.${kind}.${event.code}`;
  const text = t(key, { message: event.message, seconds: ((event.lag_ms || 0) / 1000).toFixed(1) });
  if (text !== key) return text;
  return kind === "error" ? t("common.error", { message: event.message }) : event.message;
}

/** End the session now: the microphone released, the socket closed. */
function close(current) {
  if (current.mic) current.mic.stop();
  current.mic = null;
  clearTimeout(current.timer);
  if (current.socket.readyState <= WebSocket.OPEN) current.socket.close(1000);
  if (session === current) session = null;
  if (view) view.level.value = 0;
  showData();
}

async function start(options) {
  clearFlash();
  Object.assign(state, { partial: "", finals: [], partials: 0, language: options.language });
  showText();
  setStatus("connecting");
  const current = { socket: null, mic: null, timer: 0, failed: false };
  session = current;
  const waiting = []; // frames captured before the socket opened
  try {
    current.mic = await openMicrophone({
      onFrame(frame, level) {
        if (view) view.level.value = level;
        const socket = current.socket;
        if (!socket || socket.readyState === WebSocket.CONNECTING) waiting.push(toPcm16(frame).buffer);
        else if (socket.readyState === WebSocket.OPEN) socket.send(toPcm16(frame).buffer);
      },
    });
  } catch (error) {
    if (session === current) session = null;
    flash(micMessage(error));
    setStatus("error");
    return;
  }
  if (session !== current) { // the page was left while the browser asked for the microphone
    current.mic.stop();
    return;
  }
  const socket = new WebSocket(socketUrl("/v1/audio/stream", {
    language: options.language, sample_rate: SAMPLE_RATE, hotwords: options.hotwords,
    hotword_lists: options.hotword_lists,
  }));
  current.socket = socket;
  socket.addEventListener("open", () => {
    for (const frame of waiting.splice(0)) socket.send(frame);
    if (state.status === "connecting") setStatus("listening");
  });
  socket.addEventListener("message", (message) => onMessage(JSON.parse(message.data), current));
  socket.addEventListener("close", (event) => {
    const wasStopping = state.status === "stopping";
    close(current);
    if (current.failed) return;
    if (wasStopping && event.code === 1000) {
      setStatus("stopped");
    } else {
      flash(t("live.error.closed", { code: event.code }));
      setStatus("error");
    }
  });
  showData();
}

function onMessage(event, current) {
  if (event.type === "partial") {
    state.partial = event.text;
    state.partials += 1;
  } else if (event.type === "final") {
    state.partial = "";
    state.finals.push({ start: event.start, end: event.end, text: event.text });
  } else if (event.type === "warning") {
    flash(serverMessage(event, "warning"), "info");
  } else if (event.type === "error") {
    current.failed = true;
    flash(serverMessage(event, "error"));
    close(current);
    setStatus("error");
  }
  showText();
}

/** Stop listening: the last audio is sent, then ``end``; the server answers the last finals and closes. */
function stop() {
  const current = session;
  if (!current || !current.socket) return;
  setStatus("stopping");
  if (current.mic) current.mic.stop({ flush: true });
  current.mic = null;
  if (view) view.level.value = 0;
  if (current.socket.readyState === WebSocket.OPEN) current.socket.send(JSON.stringify({ type: "end" }));
  current.timer = setTimeout(() => close(current), STOP_WAIT_MS);
  showData();
}

export default {
  id: "live",
  nav: "nav.live",
  admin: false,
  render(root) {
    const language = keepDraft(select([["zh", "common.zh"], ["en", "common.en"], ["auto", "common.auto"]], "zh",
      { id: "live-language" }), "live.language");
    const hotwords = hotwordChooser("live");
    const startButton = el("button", { type: "submit", class: "primary", id: "live-start", text: t("live.start") });
    const stopButton = el("button", { type: "button", id: "live-stop", text: t("live.stop"), disabled: true });
    const level = el("meter", { id: "live-level", min: 0, max: 1, value: 0, low: 0.05, high: 0.9 });
    const more = el("details", { class: "more-options" }, el("summary", { text: t("live.hotwords") }), hotwords.node);
    more.open = Boolean(hotwords.values().hotwords);
    const form = el("form", { class: "card", id: "live-form" },
      el("div", { class: "row controls" }, field("live.language", language), startButton, stopButton,
        el("span", { class: "row" }, el("label", { for: "live-level", text: t("live.level") }), level)),
      more, el("p", { id: "live-status", role: "status" }));
    const clear = el("button", { type: "button", id: "live-clear", text: t("live.clear") });
    const page = el("div", { id: "live-page" }, form,
      el("section", { class: "card", "aria-labelledby": "live-finals-title" },
        el("h2", { id: "live-partial-title", text: t("live.partial") }),
        el("p", { id: "live-partial", class: "partial", "aria-live": "polite" }),
        el("h2", { id: "live-finals-title", text: t("live.finals") }),
        el("p", { id: "live-none", class: "muted", text: t("live.none") }),
        el("ol", { id: "live-finals", class: "finals", "aria-live": "polite" }), clear));
    root.append(heading("nav.live"), page);
    view = {
      page, start: startButton, stop: stopButton, level, status: form.querySelector("#live-status"),
      partial: page.querySelector("#live-partial"), finals: page.querySelector("#live-finals"),
      none: page.querySelector("#live-none"),
    };
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      start({ language: language.value, ...hotwords.values() });
    });
    stopButton.addEventListener("click", stop);
    clear.addEventListener("click", () => {
      Object.assign(state, { partial: "", finals: [], partials: 0 });
      showText();
    });
    // A session cannot outlive its page: after a re-render it is over.
    if (["connecting", "listening", "stopping"].includes(state.status)) state.status = "stopped";
    setStatus(state.status);
    showText();
    const mounted = view;
    return () => {
      if (session) {
        const current = session;
        current.failed = true; // closed on purpose: no "connection lost" message
        if (current.socket) close(current);
        else session = null; // still waiting for the microphone: start() releases it
      }
      if (view === mounted) view = null;
    };
  },
};
