// The shenggu assistant kiosk: microphone → 16 kHz PCM16 over WebSocket /v1/assistant; partials, the question,
// the answer (clarifications as buttons) shown; the answer audio (PCM16 frames) played with the Web Audio API.
// Progress is mirrored in <body data-*> (state, answers, audio-bytes, audio-played) for monitoring and tests.
// The microphone (capture, 16 kHz resampling, 100 ms frames) is the console's shared module.
import { SAMPLE_RATE, openMicrophone, toPcm16 } from "../console/assets/microphone.js";

const $ = (id) => document.getElementById(id);
const body = document.body;
const query = new URLSearchParams(location.search);

const ui = {
  status: $("status"), key: $("key"), kb: $("kb"), language: $("language"), mute: $("mute"),
  start: $("start"), stop: $("stop"), levelBar: $("level-bar"), partial: $("partial"), question: $("question"),
  answer: $("answer"), answerCard: document.querySelector(".card.answer"), options: $("options"),
  candidates: $("candidates"), form: $("ask-form"), text: $("text"), setup: $("setup"),
};

const state = { ws: null, wsReady: null, mic: null, player: null, listening: false };

// ---------------------------------------------------------------------------------------------- helpers

function setStatus(text, stateName) {
  ui.status.textContent = text;
  if (stateName) body.dataset.state = stateName;
}

function bump(name, by = 1) {
  body.dataset[name] = String(Number(body.dataset[name] || 0) + by);
}

function socketUrl() {
  const url = new URL("v1/assistant", location.href);
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  url.searchParams.set("kb", ui.kb.value.trim());
  url.searchParams.set("language", ui.language.value);
  url.searchParams.set("sample_rate", String(SAMPLE_RATE));
  if (ui.key.value.trim()) url.searchParams.set("api_key", ui.key.value.trim());
  return url.toString();
}

// ---------------------------------------------------------------------------------------------- playback

class Player {
  constructor() {
    this.context = new AudioContext();
    this.nextTime = 0;
    this.rate = 24000;
    this.active = 0; // scheduled buffers not finished
    this.streaming = false; // between audio_start and audio_end
    this.sources = [];
    this.discard = false; // after "stop": frames of the silenced answer still in flight are dropped
  }

  get speaking() {
    return this.streaming || this.active > 0;
  }

  begin(rate) {
    this.rate = rate;
    this.discard = false;
    this.streaming = true;
    this.nextTime = Math.max(this.nextTime, this.context.currentTime + 0.05);
    refreshState();
  }

  play(buffer) {
    const pcm = new Int16Array(buffer);
    if (!pcm.length || this.discard) return;
    const audio = this.context.createBuffer(1, pcm.length, this.rate);
    const channel = audio.getChannelData(0);
    for (let i = 0; i < pcm.length; i++) channel[i] = pcm[i] / 32768;
    const source = this.context.createBufferSource();
    source.buffer = audio;
    source.connect(this.context.destination);
    const at = Math.max(this.nextTime, this.context.currentTime + 0.02);
    source.start(at);
    this.nextTime = at + audio.duration;
    this.active += 1;
    this.sources.push(source);
    source.onended = () => {
      this.active -= 1;
      this.sources = this.sources.filter((s) => s !== source);
      bump("audioPlayed");
      refreshState();
    };
  }

  end() {
    this.streaming = false;
    refreshState();
  }

  silence() {
    for (const source of this.sources) {
      try { source.stop(); } catch (e) { /* not started yet */ }
    }
    this.nextTime = 0;
    this.discard = true;
  }
}

function refreshState() {
  if (body.dataset.state === "error" || body.dataset.state === "closed") return;
  if (state.player && state.player.speaking) setStatus("正在回答… · Answering…", "speaking");
  else if (state.listening) setStatus("正在聆听，请说出您的问题 · Listening: ask your question", "listening");
  else if (state.ws) setStatus("已连接，可输入问题 · Connected: type a question", "connected");
}

// ---------------------------------------------------------------------------------------------- events

function showAnswer(event) {
  ui.answer.textContent = event.text;
  ui.answerCard.dataset.status = event.status;
  ui.answerCard.dataset.entryId = event.entry_id || "";
  ui.options.replaceChildren();
  for (const option of event.options || []) ui.options.append(askButton(option));
  ui.candidates.replaceChildren();
  for (const candidate of (event.candidates || []).slice(0, 3)) {
    if (event.status === "answer" && candidate.entry_id === event.entry_id) continue;
    ui.candidates.append(askButton(candidate.question));
  }
  bump("answers");
}

function askButton(text) {
  const button = document.createElement("button");
  button.type = "button";
  button.textContent = text;
  button.addEventListener("click", () => askText(text));
  return button;
}

function onMessage(message) {
  if (message.data instanceof ArrayBuffer) {
    bump("audioBytes", message.data.byteLength);
    if (state.player) state.player.play(message.data);
    return;
  }
  const event = JSON.parse(message.data);
  switch (event.type) {
    case "ready":
      refreshState();
      break;
    case "partial":
      ui.partial.textContent = event.text;
      break;
    case "question":
      ui.partial.textContent = "";
      ui.question.textContent = event.text;
      ui.answer.textContent = "…";
      break;
    case "answer":
      showAnswer(event);
      break;
    case "audio_start":
      if (state.player) state.player.begin(event.sample_rate);
      break;
    case "audio_end":
      if (state.player) state.player.end();
      break;
    case "error":
      if (!state.listening && event.code === "bad_stream" && event.message.startsWith("no data")) {
        // a typing-only kiosk left alone: the server closed the idle connection; the next question reconnects
        setStatus("空闲已断开，提问时自动重连 · Idle: asking reconnects", "closed");
      } else {
        setStatus(`出错了 Error: ${event.message}`, "error");
      }
      break;
    default:
      break;
  }
}

// ---------------------------------------------------------------------------------------------- connection

function connect() {
  if (state.wsReady) return state.wsReady;
  if (!ui.kb.value.trim()) {
    setStatus("请先填写知识库名称 · Enter the knowledge base name first", "error");
    return Promise.reject(new Error("no knowledge base"));
  }
  if (!state.player) state.player = new Player();
  state.player.context.resume();
  setStatus("正在连接… · Connecting…", "connecting");
  const ws = new WebSocket(socketUrl());
  ws.binaryType = "arraybuffer";
  state.ws = ws;
  state.wsReady = new Promise((resolve, reject) => {
    ws.addEventListener("message", function first(message) {
      if (typeof message.data === "string" && JSON.parse(message.data).type === "ready") {
        ws.removeEventListener("message", first);
        resolve(ws);
      }
    });
    ws.addEventListener("close", () => reject(new Error("closed")));
  });
  state.wsReady.catch(() => {});
  ws.addEventListener("message", onMessage);
  ws.addEventListener("close", (event) => {
    stopMicrophone();
    state.ws = null;
    state.wsReady = null;
    if (body.dataset.state !== "error" && body.dataset.state !== "closed") {
      setStatus(event.code === 1000 ? "已结束 · Finished" : `连接已断开 Disconnected (${event.code})`, "closed");
    }
    ui.start.disabled = false;
    ui.stop.disabled = true;
  });
  ui.setup.open = false;
  return state.wsReady;
}

// ---------------------------------------------------------------------------------------------- microphone

async function startMicrophone() {
  state.mic = await openMicrophone({ onFrame: captured });
  state.listening = true;
}

function captured(frame, level) {
  // While the answer is spoken the microphone would hear it: send silence instead (keeps the stream's clock).
  if (ui.mute.checked && state.player && state.player.speaking) frame.fill(0);
  else ui.levelBar.style.width = `${Math.min(100, level * 140)}%`;
  if (state.ws && state.ws.readyState === WebSocket.OPEN) state.ws.send(toPcm16(frame).buffer);
}

function stopMicrophone() {
  state.listening = false;
  if (state.mic) state.mic.stop();
  state.mic = null;
  ui.levelBar.style.width = "0";
}

// ---------------------------------------------------------------------------------------------- actions

async function start() {
  ui.start.disabled = true;
  try {
    await connect();
    await startMicrophone();
    ui.stop.disabled = false;
    refreshState();
  } catch (error) {
    ui.start.disabled = false;
    if (body.dataset.state !== "error") setStatus(`无法开始 Cannot start: ${error.message}`, "error");
  }
}

function stop() {
  stopMicrophone();
  if (state.player) state.player.silence();
  if (state.ws && state.ws.readyState === WebSocket.OPEN) {
    state.ws.send(JSON.stringify({ type: "stop" }));
    state.ws.send(JSON.stringify({ type: "end" }));
  }
  ui.stop.disabled = true;
}

async function askText(text) {
  text = text.trim();
  if (!text) return;
  try {
    const ws = await connect();
    if (state.player) state.player.silence();
    ws.send(JSON.stringify({ type: "stop" })); // a new question replaces the answer being spoken
    ws.send(JSON.stringify({ type: "text", text }));
  } catch (error) {
    if (body.dataset.state !== "error") setStatus(`无法提问 Cannot ask: ${error.message}`, "error");
  }
}

ui.start.addEventListener("click", start);
$("setup-form").addEventListener("submit", (event) => {
  event.preventDefault();
  if (!ui.start.disabled) start();
});
ui.stop.addEventListener("click", stop);
ui.form.addEventListener("submit", (event) => {
  event.preventDefault();
  askText(ui.text.value);
  ui.text.value = "";
});

ui.kb.value = query.get("kb") || "";
ui.key.value = query.get("key") || query.get("api_key") || "";
if (["zh", "en", "auto"].includes(query.get("language"))) ui.language.value = query.get("language");
if (ui.kb.value && ui.key.value) ui.setup.open = false;
