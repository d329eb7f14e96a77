// Transcribe: a file (dropped or chosen) with its options → POST /v1/audio/transcriptions (verbose_json, word
// times), or for long files POST /v1/jobs with a progress bar until the job is done. The result plays along: a
// waveform, words that seek when clicked and light up as they are spoken, speakers coloured, translations under
// their segments; edit mode corrects words in place, saved with /v1/transcripts (revisioned) and exported as
// TXT/SRT/VTT/DOCX. The page's state lives in this module, so leaving the page or switching the language keeps
// the result (and a running job is polled again on return).
import { ApiError, del, get, post, put } from "../api.js";
import { addStrings, t } from "../i18n.js";
import {
  busy, clearFlash, clock, download, el, errorText, field, flash, heading, keepDraft, progressBar, select, showError,
  table, when,
} from "../ui.js";
import { decodePeaks, waveform } from "../waveform.js";

const JOB_AFTER_S = 120; // "automatic": recordings longer than this run as background jobs
const JOB_AFTER_BYTES = 10 << 20; // the same when the browser cannot tell a file's duration
const POLL_MS = 1000;
const CURRENT_SLACK_S = 0.4; // a word stays lit this long after its end (pauses between words)
const SPEAKER_COLOURS = 5; // .speaker-0 … .speaker-4 in console.css
const EXPORT_FORMATS = ["txt", "srt", "vtt", "docx"];
const ACCEPT = "audio/*,video/*,.wav,.mp3,.m4a,.aac,.flac,.ogg,.opus,.webm,.amr,.wma,.mp4,.mov,.mkv,.avi";

addStrings({
  zh: {
    "transcribe.file": "音频或视频文件", "transcribe.drop": "把文件拖到这里，或点击选择文件。",
    "transcribe.chosen": "已选择：{name}（{size} MB）", "transcribe.dragging": "松开即可选择此文件",
    "transcribe.language": "语音的语言", "transcribe.translate": "翻译为", "transcribe.translate.none": "不翻译",
    "transcribe.mode": "处理方式", "transcribe.mode.auto": "自动",
    "transcribe.mode.help": "自动：超过 {minutes} 分钟的录音作为后台任务运行，并显示进度。",
    "transcribe.mode.now": "立即转写", "transcribe.mode.job": "后台任务",
    "transcribe.who": "说话人", "transcribe.diarize": "区分说话人", "transcribe.speakers": "说话人数（可不填）",
    "transcribe.start": "开始转写", "transcribe.no_file": "请先选择一个音频或视频文件。",
    "transcribe.working": "正在转写 {name}…", "transcribe.job.progress": "任务进度",
    "transcribe.job.status": "后台任务 {id}：{status}", "transcribe.job.cancel": "取消任务",
    "transcribe.job.failed": "任务失败：{message}", "transcribe.job.cancelled": "任务已取消。",
    "hotwords.legend": "热词", "hotwords.lists": "热词表", "hotwords.default": "名为 default 的词表总是生效。",
    "hotwords.none": "还没有其他热词表（可在“热词与知识库”页面创建）。", "hotwords.words": "其他热词",
    "hotwords.help": "用逗号分隔，例如：太乙真人, 房地产",
    "transcribe.result": "转写结果", "transcribe.meta": "时长 {duration} · 语言 {language} · {words} 个词",
    "transcribe.name": "名称", "transcribe.audio": "音频",
    "transcribe.waveform": "波形：点击或用方向键跳转（Shift 加大步长）",
    "transcribe.no_audio": "转写保存时不保存音频，这里只显示文字。",
    "transcribe.words_nav": "转写文字：方向键逐词移动，回车从该词播放",
    "transcribe.edit": "编辑",
    "transcribe.edit.help": "编辑模式：点击一个词或在词上按回车即可修改；回车保存，Esc 取消，清空则删除该词。",
    "transcribe.word.label": "修改“{word}”", "transcribe.save": "保存修改",
    "transcribe.saved": "已保存（第 {revision} 版）。", "transcribe.unsaved": "有未保存的修改。",
    "transcribe.saved_state": "已保存，第 {revision} 版。", "transcribe.not_saved": "尚未保存。",
    "transcribe.export": "导出", "transcribe.export.as": "导出为 {format}",
    "transcribe.saved_list": "已保存的转写", "transcribe.open": "打开", "transcribe.revision": "第 {revision} 版",
    "transcribe.empty": "没有识别到语音。", "transcribe.speaker": "说话人 {label}",
  },
  en: {
    "transcribe.file": "Audio or video file", "transcribe.drop": "Drop a file here, or choose one.",
    "transcribe.chosen": "Chosen: {name} ({size} MB)", "transcribe.dragging": "Release to choose this file",
    "transcribe.language": "Spoken language", "transcribe.translate": "Translate to",
    "transcribe.translate.none": "No translation", "transcribe.mode": "How to run",
    "transcribe.mode.auto": "Automatic",
    "transcribe.mode.help": "Automatic: recordings over {minutes} minutes run as background jobs, with progress.",
    "transcribe.mode.now": "Right away", "transcribe.mode.job": "As a background job",
    "transcribe.who": "Speakers", "transcribe.diarize": "Tell speakers apart", "transcribe.speakers": "Number of speakers (optional)",
    "transcribe.start": "Transcribe", "transcribe.no_file": "Choose an audio or video file first.",
    "transcribe.working": "Transcribing {name}…", "transcribe.job.progress": "Job progress",
    "transcribe.job.status": "Background job {id}: {status}", "transcribe.job.cancel": "Cancel the job",
    "transcribe.job.failed": "The job failed: {message}", "transcribe.job.cancelled": "The job was cancelled.",
    "hotwords.legend": "Hotwords", "hotwords.lists": "Hotword lists",
    "hotwords.default": "The list named default always applies.",
    "hotwords.none": "No other hotword lists yet (make them on the Hotwords & knowledge page).",
    "hotwords.words": "More hotwords", "hotwords.help": "Separated by commas, e.g. Taiyi Zhenren, CTranslate2",
    "transcribe.result": "Transcript", "transcribe.meta": "{duration} long · language {language} · {words} words",
    "transcribe.name": "Name", "transcribe.audio": "Audio",
    "transcribe.waveform": "Waveform: click or use the arrow keys to seek (Shift for bigger steps)",
    "transcribe.no_audio": "Audio is not stored with a transcript; only the text is shown.",
    "transcribe.words_nav": "Transcript: arrow keys move word by word, Enter plays from the word",
    "transcribe.edit": "Edit",
    "transcribe.edit.help": "Edit mode: click a word, or press Enter on it, to correct it; Enter keeps the change, "
      + "Escape cancels, an empty word is removed.",
    "transcribe.word.label": "Correct “{word}”", "transcribe.save": "Save changes",
    "transcribe.saved": "Saved (revision {revision}).", "transcribe.unsaved": "There are unsaved changes.",
    "transcribe.saved_state": "Saved, revision {revision}.", "transcribe.not_saved": "Not saved yet.",
    "transcribe.export": "Export", "transcribe.export.as": "Export as {format}",
    "transcribe.saved_list": "Saved transcripts", "transcribe.open": "Open",
    "transcribe.revision": "revision {revision}",
    "transcribe.empty": "No speech was recognized.", "transcribe.speaker": "Speaker {label}",
  },
});

// What survives a re-render: the chosen file, the result and its audio, the saved copy, a running job.
const state = {
  file: null, // the File chosen (not yet transcribed, or the one the result came from)
  audio: null, // {url, name}: the result's recording as an object URL
  peaks: null, // decodePeaks() of that recording, or null
  position: 0, // playback position, restored after a re-render
  result: null, // {name, language, duration, source, roles, segments: [{start, end, text, speaker, translation,
  //               words: [{start, end, word, edited}]}]}
  saved: null, // {id, revision} of the stored copy
  dirty: false,
  editing: false,
  running: false, // a synchronous request in flight
  job: null, // {id, status, progress, file, peaks} while a background job runs
};
let view = null; // the mounted page's nodes; null while another page shows
let polling = 0; // bumped to stop the job polling loop

// ------------------------------------------------------------------------------------------------ hotwords

/** The hotword options shared by Transcribe and Live: the tenant's stored lists (GET /v1/hotwords) as checkboxes
 * and free words; ``values()`` gives the API's ``hotwords`` and ``hotword_lists`` fields. Drafts kept under
 * ``prefix``. */
export function hotwordChooser(prefix) {
  const lists = el("div", { class: "row hotword-lists", id: `${prefix}-lists` },
    el("span", { class: "muted", text: t("common.loading") }));
  const words = keepDraft(el("input", { type: "text", id: `${prefix}-hotwords`, autocomplete: "off" }),
    `${prefix}.hotwords`);
  const boxes = [];
  const node = el("fieldset", { class: "hotwords" }, el("legend", { text: t("hotwords.legend") }),
    el("div", { class: "field" }, el("span", { class: "label", text: t("hotwords.lists") }), lists,
      el("small", { class: "help", text: t("hotwords.default") })),
    field("hotwords.words", words, "hotwords.help"));
  get("/v1/hotwords").then((body) => {
    const stored = body.data.filter((item) => item.name !== "default");
    lists.replaceChildren(...stored.map((item) => {
      const box = keepDraft(el("input", { type: "checkbox", value: item.name }), `${prefix}.list.${item.name}`);
      boxes.push(box);
      return el("label", { class: "check", title: item.words.join(", ") }, box, item.name);
    }));
    if (!stored.length) lists.replaceChildren(el("span", { class: "muted", text: t("hotwords.none") }));
  }).catch((error) => lists.replaceChildren(el("span", { class: "problems", text: errorText(error) })));
  return {
    node,
    values: () => ({
      hotwords: words.value.trim(),
      hotword_lists: boxes.filter((box) => box.checked).map((box) => box.value).join(","),
    }),
  };
}

// ------------------------------------------------------------------------------------------------ the form

function optionsForm() {
  const file = el("input", { type: "file", id: "transcribe-file", accept: ACCEPT });
  const chosen = el("p", { id: "transcribe-chosen", class: "muted", "aria-live": "polite" });
  const zone = el("div", { class: "drop-zone", dataset: { test: "drop" } },
    field("transcribe.file", file, "transcribe.drop"), chosen);
  const choose = (picked) => {
    if (!picked) return;
    state.file = picked;
    showChosen();
  };
  file.addEventListener("change", () => choose(file.files[0]));
  zone.addEventListener("dragover", (event) => {
    event.preventDefault();
    zone.classList.add("dragging");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("dragging"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("dragging");
    choose(event.dataTransfer.files[0]);
  });

  const language = keepDraft(select([["auto", "common.auto"], ["zh", "common.zh"], ["en", "common.en"]], "auto",
    { id: "transcribe-language" }), "transcribe.language");
  const translate = keepDraft(select([["", "transcribe.translate.none"], ["en", "common.en"], ["zh", "common.zh"]], "",
    { id: "transcribe-translate" }), "transcribe.translate");
  const mode = keepDraft(select([["auto", "transcribe.mode.auto"], ["now", "transcribe.mode.now"],
    ["job", "transcribe.mode.job"]], "auto", { id: "transcribe-mode" }), "transcribe.mode");
  const diarize = keepDraft(el("input", { type: "checkbox", id: "transcribe-diarize" }), "transcribe.diarize");
  const speakers = keepDraft(el("input", { type: "number", id: "transcribe-speakers", min: 1, max: 20, step: 1 }),
    "transcribe.speakers");
  const modeField = field("transcribe.mode", mode, "transcribe.mode.help");
  modeField.querySelector(".help").textContent = t("transcribe.mode.help", { minutes: JOB_AFTER_S / 60 });
  const hotwords = hotwordChooser("transcribe");
  const start = el("button", { type: "submit", class: "primary", id: "transcribe-start", text: t("transcribe.start") });
  const progress = el("div", { id: "transcribe-progress", "aria-live": "polite" });
  const form = el("form", { class: "card", id: "transcribe-form" }, zone,
    el("div", { class: "grid" }, field("transcribe.language", language), field("transcribe.translate", translate),
      modeField, el("div", {}, el("div", { class: "field" }, el("span", { class: "label", text: t("transcribe.who") }),
        el("label", { class: "check" }, diarize, t("transcribe.diarize"))), field("transcribe.speakers", speakers))),
    hotwords.node, el("div", { class: "row" }, start), progress);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const options = {
      language: language.value, translate_to: translate.value, diarize: diarize.checked ? "true" : "",
      num_speakers: diarize.checked ? speakers.value : "", ...hotwords.values(),
    };
    busy(start, () => transcribe(options, mode.value)).then(showProgress); // a job keeps the button disabled
  });
  view.file = file;
  view.chosen = chosen;
  view.start = start;
  view.progress = progress;
  return form;
}

function showChosen() {
  if (!view) return;
  const file = state.file;
  view.chosen.textContent = file ? t("transcribe.chosen", { name: file.name, size: (file.size / 1e6).toFixed(1) }) : "";
}

/** The duration the browser reads from a file's header, or null (not a format it knows, or a stream). */
function mediaDuration(file) {
  return new Promise((resolve) => {
    const probe = document.createElement("audio");
    const url = URL.createObjectURL(file);
    const done = (value) => {
      URL.revokeObjectURL(url);
      probe.removeAttribute("src");
      resolve(value);
    };
    probe.preload = "metadata";
    probe.addEventListener("loadedmetadata", () => done(Number.isFinite(probe.duration) ? probe.duration : null));
    probe.addEventListener("error", () => done(null));
    setTimeout(() => done(null), 5000);
    probe.src = url;
  });
}

async function transcribe(options, mode) {
  const file = state.file;
  if (!file) {
    flash(t("transcribe.no_file"));
    view.file.focus();
    return;
  }
  clearFlash();
  const duration = mode === "auto" ? await mediaDuration(file) : null;
  const long = duration === null ? file.size > JOB_AFTER_BYTES : duration > JOB_AFTER_S;
  const asJob = mode === "job" || (mode === "auto" && long);
  const form = new FormData();
  form.append("file", file, file.name);
  for (const [name, value] of Object.entries(options)) if (value) form.append(name, value);
  const peaks = decodePeaks(file).catch(() => null); // meanwhile: the server may read formats the browser cannot
  if (asJob) {
    const job = await post("/v1/jobs", { form });
    state.job = { id: job.id, status: job.status, progress: 0, file, peaks };
    setData({ mode: "job" });
    pollJob();
    return;
  }
  form.append("response_format", "verbose_json");
  form.append("timestamp_granularities[]", "word");
  form.append("timestamp_granularities[]", "segment");
  state.running = true;
  setData({ mode: "sync" });
  showProgress();
  try {
    const body = await post("/v1/audio/transcriptions", { form });
    showResult(body, file, await peaks, { file: file.name });
  } finally {
    state.running = false;
    showProgress();
  }
}

async function pollJob() {
  const run = ++polling;
  while (state.job && run === polling) {
    const job = state.job;
    try {
      const body = await get(`/v1/jobs/${job.id}`);
      job.status = body.status;
      job.progress = body.progress;
      if (body.status === "succeeded") {
        state.job = null;
        showResult(body.result, job.file, await job.peaks, { job_id: job.id, file: job.file.name });
      } else if (body.status === "failed" || body.status === "cancelled") {
        state.job = null;
        const message = body.error ? body.error.message : "";
        flash(body.status === "failed" ? t("transcribe.job.failed", { message }) : t("transcribe.job.cancelled"));
      }
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) state.job = null; // gone: nothing left to wait for
      showError(error);
    }
    showProgress();
    if (state.job) await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

function showProgress() {
  if (!view) return;
  const job = state.job;
  view.start.disabled = Boolean(job || state.running);
  if (job) {
    const bar = progressBar("transcribe.job.progress");
    bar.set(job.progress);
    const cancel = el("button", { type: "button", id: "transcribe-cancel", text: t("transcribe.job.cancel") });
    cancel.addEventListener("click", () => busy(cancel, async () => {
      await del(`/v1/jobs/${job.id}`);
      pollJob();
    }));
    const status = t(`status.${job.status}`);
    view.progress.replaceChildren(el("p", { text: t("transcribe.job.status", { id: job.id, status }) }),
      el("div", { class: "row" }, el("div", { class: "grow" }, bar.node), cancel));
  } else if (state.running) {
    view.progress.replaceChildren(el("p", { class: "row" }, el("progress", {}),
      el("span", { text: t("transcribe.working", { name: state.file.name }) })));
  } else {
    view.progress.replaceChildren();
  }
  setData({ status: pageStatus(), progress: job ? job.progress : null });
}

function pageStatus() {
  return state.job ? "job" : state.running ? "working" : state.result ? "done" : "idle";
}

// ------------------------------------------------------------------------------------------------ the result

function fromApi(body, name, source) {
  const roles = Object.fromEntries((body.speakers || []).map((item) => [item.speaker, item.role]));
  return {
    name, language: body.language || null, duration: body.duration ?? null, source, roles,
    segments: (body.segments || []).map((segment) => ({
      start: segment.start, end: segment.end, text: segment.text, speaker: segment.speaker ?? null,
      translation: segment.translation ?? null,
      words: (segment.words || []).map((word) => ({ start: word.start, end: word.end, word: word.word })),
    })),
  };
}

function showResult(body, file, peaks, source) {
  if (state.audio) URL.revokeObjectURL(state.audio.url);
  state.audio = { url: URL.createObjectURL(file), name: file.name };
  state.peaks = peaks;
  state.position = 0;
  state.result = fromApi(body, file.name, source);
  state.saved = null;
  state.dirty = false;
  state.editing = false;
  renderResult();
  if (view) view.result.querySelector("h2").focus();
}

/** Whisper's English words carry their leading spaces; Mandarin words none (as the server joins them). */
function joinWords(words, language) {
  const text = words.map((word) => word.word).join("");
  return language === "zh" ? text.replace(/ /g, "") : text.trim();
}

function wordCount() {
  return state.result ? state.result.segments.reduce((total, segment) => total + segment.words.length, 0) : 0;
}

function setData(values) {
  if (!view) return;
  for (const [name, value] of Object.entries(values)) {
    if (value === null || value === undefined) delete view.page.dataset[name];
    else view.page.dataset[name] = String(value);
  }
}

function saveState() {
  setData({ transcriptId: state.saved ? state.saved.id : null, revision: state.saved ? state.saved.revision : null,
    dirty: state.dirty, editing: state.editing, words: wordCount(), status: pageStatus() });
  if (!view || !view.saveState) return;
  view.saveState.textContent = state.dirty ? t("transcribe.unsaved")
    : state.saved ? t("transcribe.saved_state", { revision: state.saved.revision }) : t("transcribe.not_saved");
}

function renderResult() {
  if (!view) return;
  if (view.waveform) view.waveform.destroy();
  view.waveform = null;
  const card = view.result;
  const result = state.result;
  card.hidden = !result;
  if (!result) {
    card.replaceChildren();
    saveState();
    return;
  }
  const name = el("input", { type: "text", id: "transcribe-name", value: result.name, maxlength: 200 });
  name.addEventListener("input", () => {
    result.name = name.value;
    markDirty();
  });
  const audio = state.audio
    ? el("audio", { controls: true, preload: "metadata", src: state.audio.url, id: "transcribe-audio" }) : null;
  let player = el("p", { class: "muted", text: t("transcribe.no_audio") });
  if (audio) {
    view.waveform = waveform(audio, state.peaks, t("transcribe.waveform"));
    audio.setAttribute("aria-label", t("transcribe.audio"));
    audio.addEventListener("loadedmetadata", () => {
      if (state.position) audio.currentTime = state.position;
    }, { once: true });
    player = el("div", { class: "player" }, audio, view.waveform.node);
  }
  const edit = el("button", { type: "button", id: "transcribe-edit", text: t("transcribe.edit"),
    "aria-pressed": String(state.editing) });
  const save = el("button", { type: "button", class: "primary", id: "transcribe-save", text: t("transcribe.save") });
  const exports = EXPORT_FORMATS.map((format) => el("button", { type: "button", text: format.toUpperCase(),
    "aria-label": t("transcribe.export.as", { format: format.toUpperCase() }), dataset: { format } }));
  view.saveState = el("span", { class: "muted", id: "transcribe-save-state", role: "status" });
  const help = el("p", { class: "help", id: "transcribe-edit-help", text: t("transcribe.edit.help"),
    hidden: !state.editing });
  const transcript = renderTranscript(result, audio);
  edit.addEventListener("click", () => {
    state.editing = !state.editing;
    edit.setAttribute("aria-pressed", String(state.editing));
    transcript.classList.toggle("editing", state.editing);
    help.hidden = !state.editing;
    saveState();
  });
  save.addEventListener("click", () => busy(save, saveTranscript));
  for (const button of exports) {
    button.addEventListener("click", () => busy(button, () => exportAs(button.dataset.format)));
  }
  const language = result.language ? t(`common.${result.language}`) : "–";
  card.replaceChildren(
    el("h2", { id: "transcribe-result-title", tabindex: "-1", text: t("transcribe.result") }),
    el("p", { class: "muted",
      text: t("transcribe.meta", { duration: clock(result.duration), language, words: wordCount() }) }),
    field("transcribe.name", name), player,
    el("div", { class: "row toolbar" }, edit, save,
      el("span", { class: "row", role: "group", "aria-label": t("transcribe.export") },
        el("span", { class: "muted", text: t("transcribe.export") }), exports), view.saveState),
    help, transcript);
  saveState();
}

function speakerClasses(result) {
  const order = new Map();
  for (const segment of result.segments) {
    if (segment.speaker !== null && !order.has(segment.speaker)) order.set(segment.speaker, order.size);
  }
  return order;
}

function renderTranscript(result, audio) {
  const box = el("div", { class: `transcript${state.editing ? " editing" : ""}`, id: "transcript", role: "group",
    "aria-label": t("transcribe.words_nav"), lang: result.language === "en" ? "en" : "zh-CN" });
  const tokens = []; // every word (or whole segment, when it has no words) in order: {node, segment, word}
  const speakers = speakerClasses(result);
  for (const segment of result.segments) {
    const line = el("p", { class: "segment" }, el("span", { class: "time muted", text: clock(segment.start) }));
    if (segment.speaker !== null) {
      line.classList.add(`speaker-${speakers.get(segment.speaker) % SPEAKER_COLOURS}`);
      const label = result.roles[segment.speaker] || segment.speaker;
      line.append(el("span", { class: "speaker", text: label, title: t("transcribe.speaker", { label }) }));
    }
    const parts = segment.words.length ? segment.words : [null];
    for (const word of parts) {
      const text = word ? word.word : segment.text;
      if (word && /^\s/.test(text)) line.append(" ");
      const node = el("button", { type: "button", class: `word${word && word.edited ? " edited" : ""}`, tabindex: "-1",
        text: text.trim(), dataset: { index: tokens.length, start: (word || segment).start } });
      tokens.push({ node, segment, word });
      line.append(node);
    }
    if (segment.translation) {
      line.append(el("span", { class: "translation", lang: result.language === "zh" ? "en" : "zh-CN",
        text: segment.translation }));
    }
    box.append(line);
  }
  if (!tokens.length) box.append(el("p", { class: "muted", text: t("transcribe.empty") }));
  else tokens[0].node.tabIndex = 0;

  const live = () => tokens.filter((token) => token.node.isConnected);
  const focusToken = (token) => {
    for (const other of tokens) other.node.tabIndex = -1;
    token.node.tabIndex = 0;
    token.node.focus();
  };
  box.addEventListener("click", (event) => {
    const node = event.target.closest("button.word");
    if (!node) return;
    const token = tokens[Number(node.dataset.index)];
    focusToken(token);
    if (state.editing) editToken(token, result, focusToken, live);
    else if (audio) audio.currentTime = (token.word || token.segment).start;
  });
  box.addEventListener("keydown", (event) => {
    const node = event.target.closest("button.word");
    if (!node) return;
    const shown = live();
    const at = shown.findIndex((token) => token.node === node);
    const next = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: shown.length - 1 }[event.key];
    if (next === undefined) return;
    event.preventDefault();
    focusToken(shown[Math.max(0, Math.min(shown.length - 1, next))]);
  });
  if (audio) followPlayback(audio, tokens);
  return box;
}

/** Light up the word being spoken: on every time update, and every animation frame while playing. */
function followPlayback(audio, tokens) {
  let current = null;
  const timed = tokens.filter((token) => token.word);
  const highlight = () => {
    const time = audio.currentTime;
    state.position = time;
    let low = 0;
    let high = timed.length - 1;
    let found = -1;
    while (low <= high) { // the last word starting at or before ``time``
      const middle = (low + high) >> 1;
      if (timed[middle].word.start <= time) {
        found = middle;
        low = middle + 1;
      } else {
        high = middle - 1;
      }
    }
    const token = found >= 0 && time <= timed[found].word.end + CURRENT_SLACK_S ? timed[found] : null;
    if (token === current) return;
    if (current) current.node.classList.remove("current");
    current = token;
    if (current) current.node.classList.add("current");
  };
  const animate = () => {
    highlight();
    if (!audio.paused && audio.isConnected) requestAnimationFrame(animate);
  };
  audio.addEventListener("timeupdate", highlight);
  audio.addEventListener("seeked", highlight);
  audio.addEventListener("play", () => requestAnimationFrame(animate));
}

function editToken(token, result, focusToken, live) {
  const { segment, word } = token;
  const original = (word ? word.word : segment.text).trim();
  const input = el("input", { type: "text", class: "word-edit", value: original,
    "aria-label": t("transcribe.word.label", { word: original }) });
  input.size = Math.max(3, [...original].length * (result.language === "en" ? 1 : 2) + 2);
  token.node.replaceWith(input);
  input.focus();
  input.select();
  let finished = false;
  const finish = (keep) => {
    if (finished) return;
    finished = true;
    const value = input.value.trim();
    const changed = keep && value !== original && (value || word);
    if (changed) {
      applyEdit(token, value, result);
      markDirty();
    }
    if (!(changed && !value)) {
      input.replaceWith(token.node);
      focusToken(token);
      return;
    }
    // The word was removed (with the space before it): focus moves to its neighbour.
    if (input.previousSibling && input.previousSibling.nodeType === Node.TEXT_NODE) input.previousSibling.remove();
    input.remove();
    const shown = live();
    const after = shown.find((other) => Number(other.node.dataset.index) > Number(token.node.dataset.index));
    if (shown.length) focusToken(after || shown[shown.length - 1]);
  };
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === "Escape") {
      event.preventDefault();
      finish(event.key === "Enter");
    }
  });
  input.addEventListener("blur", () => finish(true));
}

/** Correct one word (or a word-less segment's text); an empty word is removed. The segment's text follows: rebuilt
 * from its words when it was their plain join, else the old word replaced in it (keeps Mandarin number formats). */
function applyEdit(token, value, result) {
  const { segment, word, node } = token;
  if (!word) {
    segment.text = value;
  } else {
    const before = joinWords(segment.words, result.language);
    const old = word.word.trim();
    if (value) {
      word.word = /^\s/.test(word.word) ? ` ${value}` : value;
      word.edited = true;
    } else {
      segment.words.splice(segment.words.indexOf(word), 1);
    }
    const joined = joinWords(segment.words, result.language);
    segment.text = before === segment.text || !segment.text.includes(old) ? joined : segment.text.replace(old, value);
  }
  if (value) {
    node.textContent = value;
    node.classList.add("edited");
  }
}

function markDirty() {
  state.dirty = true;
  saveState();
}

// ------------------------------------------------------------------------------------------------ saving

function storedBody() {
  const result = state.result;
  return {
    name: result.name.trim() || "transcript", language: result.language, duration: result.duration,
    source: result.source || null,
    segments: result.segments.map((segment) => ({
      start: segment.start, end: segment.end, text: segment.text, speaker: segment.speaker,
      words: segment.words.map((word) => ({ start: word.start, end: word.end, word: word.word })),
    })),
  };
}

async function saveTranscript() {
  clearFlash();
  const body = storedBody();
  const stored = state.saved
    ? await put(`/v1/transcripts/${state.saved.id}`, { json: { ...body, revision: state.saved.revision } })
    : await post("/v1/transcripts", { json: body });
  state.saved = { id: stored.id, revision: stored.revision };
  state.dirty = false;
  saveState();
  flash(t("transcribe.saved", { revision: stored.revision }), "info");
  loadSaved();
}

async function exportAs(format) {
  if (!state.saved || state.dirty) await saveTranscript();
  const blob = await get(`/v1/transcripts/${state.saved.id}/export`, { query: { format }, expect: "blob" });
  const stem = state.result.name.replace(/\.[^.]*$/, "").replace(/[\\/:*?"<>|]+/g, "_") || "transcript";
  download(blob, `${stem}.${format}`);
}

async function openSaved(id) {
  const body = await get(`/v1/transcripts/${id}`);
  const keepAudio = state.audio && body.source && body.source.file === state.audio.name;
  if (!keepAudio && state.audio) URL.revokeObjectURL(state.audio.url);
  if (!keepAudio) {
    state.audio = null;
    state.peaks = null;
  }
  state.position = 0;
  state.result = fromApi(body, body.name, body.source || null);
  state.saved = { id: body.id, revision: body.revision };
  state.dirty = false;
  state.editing = false;
  clearFlash();
  renderResult();
  if (view) view.result.querySelector("h2").focus();
}

async function loadSaved() {
  if (!view) return;
  const target = view.saved;
  try {
    const body = await get("/v1/transcripts");
    const rows = Array.isArray(body) ? body : body.data;
    const actions = (row) => {
      const open = el("button", { type: "button", text: t("transcribe.open"), dataset: { open: row.id } });
      open.addEventListener("click", () => busy(open, () => openSaved(row.id)));
      const remove = el("button", { type: "button", class: "danger", text: t("common.delete") });
      remove.addEventListener("click", () => busy(remove, async () => {
        if (!window.confirm(t("common.confirm_delete", { name: row.name }))) return;
        await del(`/v1/transcripts/${row.id}`);
        if (state.saved && state.saved.id === row.id) {
          state.saved = null;
          markDirty();
        }
        loadSaved();
      }));
      return el("div", { class: "row" }, open, remove);
    };
    target.replaceChildren(table([
      ["common.name", (row) => el("div", {}, el("div", { text: row.name }),
        el("small", { class: "muted",
          text: `${when(row.updated_at)} · ${t("transcribe.revision", { revision: row.revision })}` }))],
      ["common.actions", actions],
    ], rows, { id: "transcribe-saved-table" }));
  } catch (error) {
    target.replaceChildren(el("p", { class: "problems", text: errorText(error) }));
  }
}

// ------------------------------------------------------------------------------------------------ the page

export default {
  id: "transcribe",
  nav: "nav.transcribe",
  admin: false,
  render(root) {
    const page = el("div", { id: "transcribe-page" });
    view = { page };
    view.result = el("section", { class: "card", id: "transcribe-result", "aria-labelledby": "transcribe-result-title",
      hidden: true });
    view.saved = el("div", { id: "transcribe-saved" }, el("p", { class: "muted", text: t("common.loading") }));
    const refresh = el("button", { type: "button", text: t("common.refresh") });
    refresh.addEventListener("click", () => busy(refresh, loadSaved));
    const savedCard = el("section", { class: "card", "aria-labelledby": "transcribe-saved-title" },
      el("h2", { id: "transcribe-saved-title", text: t("transcribe.saved_list") }), view.saved, refresh);
    page.append(el("div", { class: "split" }, optionsForm(), savedCard), view.result);
    root.append(heading("nav.transcribe"), page);
    showChosen();
    showProgress();
    renderResult();
    loadSaved();
    if (state.job) pollJob();
    const mounted = view;
    return () => {
      if (mounted.waveform) mounted.waveform.destroy();
      polling += 1;
      if (view === mounted) view = null;
    };
  },
};
