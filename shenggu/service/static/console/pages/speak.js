// Speak: text or SSML → POST /v1/audio/speech → an audio player and a download. Voices from GET /v1/audio/voices,
// grouped by language; the text, voice, speed and format are kept as drafts, the last audio in the module's state.
import { get, post } from "../api.js";
import { addStrings, t } from "../i18n.js";
import { busy, clock, download, el, field, flash, heading, keepDraft, select } from "../ui.js";

addStrings({
  zh: {
    "speak.text": "要朗读的文本", "speak.text.help": "纯文本，或以 <speak> 开头的 SSML。",
    "speak.mode": "输入方式", "speak.mode.text": "纯文本", "speak.mode.ssml": "SSML",
    "speak.ssml.help": "支持 <speak>、<break time=\"500ms\"/>、<prosody rate=\"slow\">、<say-as interpret-as=\"digits|telephone|date\">、<p>、<s>；其他元素会被拒绝。没有 <speak> 根元素时自动加上。",
    "speak.example": "插入 SSML 示例", "speak.voice": "音色", "speak.speed": "语速", "speak.speed.help": "0.25–4，1 为正常语速。",
    "speak.format": "音频格式", "speak.submit": "合成", "speak.result": "合成结果", "speak.download": "下载音频",
    "speak.unplayable": "此浏览器无法播放 {format} 格式，请下载后播放。",
    "speak.empty": "请输入要朗读的文本。", "speak.lang.zh": "中文", "speak.lang.en": "英文",
    "speak.gender.female": "女声", "speak.gender.male": "男声",
    "speak.sample": "<speak>\n  欢迎使用声谷。<break time=\"500ms\"/>\n  <prosody rate=\"slow\">请慢慢说。</prosody>\n  客服电话<say-as interpret-as=\"telephone\">4008123123</say-as>。\n</speak>",
  },
  en: {
    "speak.text": "Text to read aloud", "speak.text.help": "Plain text, or SSML starting with <speak>.",
    "speak.mode": "Input", "speak.mode.text": "Plain text", "speak.mode.ssml": "SSML",
    "speak.ssml.help": "Supported: <speak>, <break time=\"500ms\"/>, <prosody rate=\"slow\">, <say-as interpret-as=\"digits|telephone|date\">, <p>, <s>; other elements are refused. A missing <speak> root is added.",
    "speak.example": "Insert an SSML example", "speak.voice": "Voice", "speak.speed": "Speed",
    "speak.speed.help": "0.25–4; 1 is normal.", "speak.format": "Audio format", "speak.submit": "Speak",
    "speak.result": "Result", "speak.download": "Download the audio",
    "speak.unplayable": "This browser cannot play {format}; download it instead.",
    "speak.empty": "Type the text to read aloud.", "speak.lang.zh": "Mandarin", "speak.lang.en": "English",
    "speak.gender.female": "female", "speak.gender.male": "male",
    "speak.sample": "<speak>\n  Welcome to shenggu.<break time=\"500ms\"/>\n  <prosody rate=\"slow\">Please speak slowly.</prosody>\n  Call <say-as interpret-as=\"telephone\">4008123123</say-as>.\n</speak>",
  },
});

// Formats a browser can play (raw "pcm" has no header, so it is left out).
const FORMATS = [["mp3", "MP3"], ["wav", "WAV"], ["flac", "FLAC"], ["opus", "Opus (Ogg)"], ["aac", "AAC"]];
const SSML_START = /^\s*(<\?xml[^>]*\?>\s*)?<speak[\s>]/;

// The last synthesis: {url, blob, voice, format, name}; its object URL lives as long as the tab (one at a time).
const state = { result: null, voices: null };

/** A streamed WAV has "unknown length" sizes (0xFFFFFFFF); once all of it is here, write the real sizes so that
 * players show its duration and the downloaded file is an ordinary WAV. */
async function withWavSizes(blob) {
  const bytes = new Uint8Array(await blob.arrayBuffer());
  const view = new DataView(bytes.buffer);
  const tag = (offset) => String.fromCharCode(...bytes.subarray(offset, offset + 4));
  if (bytes.length < 12 || tag(0) !== "RIFF" || tag(8) !== "WAVE") return blob;
  view.setUint32(4, bytes.length - 8, true);
  for (let offset = 12; offset + 8 <= bytes.length;) {
    const size = view.getUint32(offset + 4, true);
    if (tag(offset) === "data") {
      view.setUint32(offset + 4, bytes.length - offset - 8, true);
      break;
    }
    offset += 8 + size + (size % 2);
  }
  return new Blob([bytes], { type: "audio/wav" });
}

function voiceSelect(voices) {
  const byLanguage = new Map();
  for (const voice of voices) {
    if (!byLanguage.has(voice.language)) byLanguage.set(voice.language, []);
    byLanguage.get(voice.language).push(voice);
  }
  const node = el("select", { id: "speak-voice" }, [...byLanguage].map(([language, group]) =>
    el("optgroup", { label: t(`speak.lang.${language}`) }, group.map((voice) => el("option", {
      value: voice.id, text: `${voice.id} · ${t(`speak.gender.${voice.gender}`)}`, title: voice.description,
      dataset: { language: voice.language },
    })))));
  return node;
}

function resultView() {
  const result = state.result;
  const audio = el("audio", { controls: true, src: result.url, id: "speak-audio", preload: "auto" });
  const duration = el("span", { text: "" });
  audio.addEventListener("loadedmetadata", () => {
    if (Number.isFinite(audio.duration)) duration.textContent = clock(audio.duration);
  });
  audio.addEventListener("error", () => flash(t("speak.unplayable", { format: result.format.toUpperCase() })));
  const save = el("button", { type: "button", id: "speak-download", text: t("speak.download"),
    onclick: () => download(result.blob, result.name) });
  return el("section", { class: "card", id: "speak-result", "aria-labelledby": "speak-result-title",
    dataset: { format: result.format, bytes: String(result.blob.size) } },
  el("h2", { id: "speak-result-title", text: t("speak.result") }),
  el("p", { class: "muted" }, `${result.voice} · ${result.format.toUpperCase()} · `, duration),
  audio, el("div", { class: "row" }, save));
}

export default {
  id: "speak",
  nav: "nav.speak",
  admin: false,
  async render(root) {
    state.voices = state.voices || (await get("/v1/audio/voices")).data;
    const text = keepDraft(el("textarea", { id: "speak-text", rows: 6, maxlength: 4096 }), "speak.text");
    const mode = keepDraft(select([["text", "speak.mode.text"], ["ssml", "speak.mode.ssml"]], "text",
      { id: "speak-mode" }), "speak.mode");
    const voice = keepDraft(voiceSelect(state.voices), "speak.voice");
    const speed = keepDraft(el("input", { type: "number", id: "speak-speed", min: 0.25, max: 4, step: 0.05, value: 1 }),
      "speak.speed");
    const format = el("select", { id: "speak-format" },
      FORMATS.map(([value, label]) => el("option", { value, text: label })));
    keepDraft(format, "speak.format");
    const example = el("button", { type: "button", id: "speak-example", text: t("speak.example") });
    const ssmlHelp = el("p", { class: "help muted", id: "speak-ssml-help", text: t("speak.ssml.help") });
    const submit = el("button", { type: "submit", class: "primary", id: "speak-submit", text: t("speak.submit") });
    const output = el("div", { "aria-live": "polite" });
    const showMode = () => {
      ssmlHelp.hidden = mode.value !== "ssml";
      example.hidden = mode.value !== "ssml";
    };
    mode.addEventListener("change", showMode);
    showMode();
    example.addEventListener("click", () => {
      text.value = t("speak.sample");
      text.dispatchEvent(new Event("input"));
      text.focus();
    });
    const form = el("form", { class: "card", id: "speak-form" },
      el("div", { class: "grid" }, field("speak.mode", mode), field("speak.voice", voice),
        field("speak.speed", speed, "speak.speed.help"), field("speak.format", format)),
      field("speak.text", text, "speak.text.help"), ssmlHelp,
      el("div", { class: "row" }, submit, example));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      let input = text.value.trim();
      if (!input) {
        flash(t("speak.empty"));
        text.focus();
        return;
      }
      if (mode.value === "ssml" && !SSML_START.test(input)) input = `<speak>${input}</speak>`;
      busy(submit, async () => {
        const body = { input, voice: voice.value, speed: Number(speed.value) || 1, response_format: format.value };
        let blob = await post("/v1/audio/speech", { json: body, expect: "blob" });
        if (body.response_format === "wav") blob = await withWavSizes(blob);
        if (state.result) URL.revokeObjectURL(state.result.url);
        state.result = { url: URL.createObjectURL(blob), blob, voice: body.voice, format: body.response_format,
          name: `speech-${body.voice}.${body.response_format === "opus" ? "ogg" : body.response_format}` };
        output.replaceChildren(resultView());
        root.dataset.status = "done";
      });
    });
    root.append(heading("nav.speak"), el("div", { class: "split" }, form, output));
    if (state.result) {
      output.append(resultView());
      root.dataset.status = "done";
    }
  },
};
