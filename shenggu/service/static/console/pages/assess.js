// Assess: a reference text and a reading of it (a file, or recorded with the microphone) → POST /v1/assessments
// → the scores, every word coloured by its accuracy with its phones (English) or syllables and tones (Mandarin),
// and a table of the problems. Readings over a minute come back as a job, followed here with a progress bar.
import { get, post } from "../api.js";
import { addStrings, t } from "../i18n.js";
import { MicrophoneError, recordWav } from "../microphone.js";
import { busy, clock, el, field, flash, heading, keepDraft, num, progressBar, select, table } from "../ui.js";

addStrings({
  zh: {
    "assess.text": "参考文本", "assess.text.help": "朗读者照着读的文本（最多 2000 字）。",
    "assess.language": "语言", "assess.file": "录音文件", "assess.file.help": "任何常见音频或视频格式；超过 60 秒的录音作为任务处理。",
    "assess.or": "或者用麦克风录音", "assess.record": "开始录音", "assess.stop": "停止录音",
    "assess.recording": "正在录音… {seconds}", "assess.level": "输入音量", "assess.using": "待评测录音：{name}",
    "assess.recorded": "麦克风录音", "assess.submit": "开始评测", "assess.need_audio": "请先选择录音文件或录一段音。",
    "assess.need_text": "请输入参考文本。", "assess.queued": "录音较长，已作为任务 {id} 排队处理。",
    "assess.progress": "评测进度", "assess.job_failed": "评测任务失败：{message}", "assess.job_cancelled": "评测任务已取消。",
    "assess.scores": "总体得分", "assess.words": "逐词结果", "assess.problems": "问题",
    "assess.no_problems": "没有发现问题。", "assess.total": "总分", "assess.accuracy": "准确度", "assess.fluency": "流利度",
    "assess.completeness": "完整度", "assess.prosodic": "韵律", "assess.duration": "时长",
    "assess.legend": "图例", "assess.legend.good": "好（≥ 80）", "assess.legend.fair": "一般（60–79）", "assess.legend.poor": "差（< 60）",
    "assess.legend.omission": "漏读", "assess.legend.insertion": "多读", "assess.legend.tone": "声调读错",
    "assess.error.none": "无", "assess.error.mispronunciation": "发音错误", "assess.error.omission": "漏读",
    "assess.error.insertion": "多读", "assess.word": "词", "assess.problem": "问题", "assess.score": "得分",
    "assess.time": "时间", "assess.word_label": "{word}：得分 {score}，{error}", "assess.tone": "声调：应为 {expected}，读成 {heard}",
    "assess.tone_unknown": "未测到", "assess.weak_phones": "发音弱的音素：{phones}",
    "assess.syllable_label": "{character}（{pinyin}）：得分 {score}", "assess.phone_label": "{phone}：得分 {score}",
    "assess.play_hint": "点击一个词可从该处播放录音。",
    "assess.mic.unsupported": "此页面无法使用麦克风（需要 https 或 localhost）。",
    "assess.mic.denied": "麦克风权限被拒绝。", "assess.mic.not_found": "没有找到麦克风。",
    "assess.mic.busy": "麦克风被其他程序占用。", "assess.mic.failed": "麦克风出错：{message}",
  },
  en: {
    "assess.text": "Reference text", "assess.text.help": "The text the speaker reads aloud (at most 2000 characters).",
    "assess.language": "Language", "assess.file": "Recording",
    "assess.file.help": "Any common audio or video format; readings over 60 s are processed as a job.",
    "assess.or": "or record with the microphone", "assess.record": "Start recording", "assess.stop": "Stop recording",
    "assess.recording": "Recording… {seconds}", "assess.level": "Input level", "assess.using": "Reading to assess: {name}",
    "assess.recorded": "microphone recording", "assess.submit": "Assess",
    "assess.need_audio": "Choose a recording or record one first.", "assess.need_text": "Type the reference text.",
    "assess.queued": "A long reading: queued as job {id}.", "assess.progress": "Assessment progress",
    "assess.job_failed": "The assessment job failed: {message}", "assess.job_cancelled": "The assessment job was cancelled.",
    "assess.scores": "Scores", "assess.words": "Word by word", "assess.problems": "Problems",
    "assess.no_problems": "No problems found.", "assess.total": "Total", "assess.accuracy": "Accuracy",
    "assess.fluency": "Fluency", "assess.completeness": "Completeness", "assess.prosodic": "Prosody",
    "assess.duration": "Duration", "assess.legend": "Legend", "assess.legend.good": "Good (≥ 80)",
    "assess.legend.fair": "Fair (60–79)", "assess.legend.poor": "Poor (< 60)", "assess.legend.omission": "Omitted",
    "assess.legend.insertion": "Inserted", "assess.legend.tone": "Wrong tone", "assess.error.none": "no error",
    "assess.error.mispronunciation": "mispronounced", "assess.error.omission": "omitted",
    "assess.error.insertion": "inserted", "assess.word": "Word", "assess.problem": "Problem", "assess.score": "Score",
    "assess.time": "Time", "assess.word_label": "{word}: score {score}, {error}",
    "assess.tone": "tone: expected {expected}, heard {heard}", "assess.tone_unknown": "not measured",
    "assess.weak_phones": "weak phones: {phones}", "assess.syllable_label": "{character} ({pinyin}): score {score}",
    "assess.phone_label": "{phone}: score {score}", "assess.play_hint": "Click a word to play the reading from there.",
    "assess.mic.unsupported": "This page cannot use a microphone (it needs https or localhost).",
    "assess.mic.denied": "The microphone was refused.", "assess.mic.not_found": "No microphone was found.",
    "assess.mic.busy": "Another program is using the microphone.", "assess.mic.failed": "The microphone failed: {message}",
  },
});

const SCORES = ["total", "accuracy", "fluency", "completeness", "prosodic"];
const POLL_MS = 1000;
const MAX_RECORDING_S = 120;
// Pronunciation is judged on the voice as it is: no noise suppression or gain riding.
const RAW_VOICE = { echoCancellation: false, noiseSuppression: false, autoGainControl: false };

// What survives a re-render: the reading chosen ({blob, name, url}) and the last result ({assessment, url}; its
// own URL of the reading it scored, so choosing another reading leaves its player working).
const state = { reading: null, result: null };

/** The colour class of a 0-100 score (the legend's thresholds). */
function scoreClass(score) {
  if (score >= 80) return "score-good";
  if (score >= 60) return "score-fair";
  return "score-poor";
}

function setReading(blob, name) {
  if (state.reading) URL.revokeObjectURL(state.reading.url);
  state.reading = { blob, name, url: URL.createObjectURL(blob) };
}

function micMessage(error) {
  if (error instanceof MicrophoneError) return t(`assess.mic.${error.code}`, { message: error.message });
  return t("assess.mic.failed", { message: error.message || String(error) });
}

function scoreCards(assessment) {
  const cards = SCORES.map((name) => el("div", { class: `score-card ${scoreClass(assessment[name])}`,
    dataset: { score: name, value: String(assessment[name]) } },
  el("span", { class: "score-name", text: t(`assess.${name}`) }),
  el("span", { class: "score-value", text: num(assessment[name], 0) })));
  cards.push(el("div", { class: "score-card" }, el("span", { class: "score-name", text: t("assess.duration") }),
    el("span", { class: "score-value", text: clock(assessment.duration) })));
  return el("div", { class: "score-cards" }, cards);
}

function legend(language) {
  const item = (className, key) => el("li", {}, el("span", { class: `swatch ${className}`, "aria-hidden": "true" }), t(key));
  // Omitted and inserted words are marked by their outline, shown on a sample word.
  const mark = (error, key) => el("li", {}, el("span", { class: `assessed-word sample ${error}`, "aria-hidden": "true",
    text: "Aa" }), t(key));
  return el("ul", { class: "legend", "aria-label": t("assess.legend") },
    item("score-good", "assess.legend.good"), item("score-fair", "assess.legend.fair"),
    item("score-poor", "assess.legend.poor"), mark("omission", "assess.legend.omission"),
    mark("insertion", "assess.legend.insertion"),
    language === "zh" ? el("li", {}, el("span", { class: "part tone-wrong", "aria-hidden": "true", text: "ma3" }),
      t("assess.legend.tone")) : null);
}

function partsOf(word) {
  if (word.syllables) {
    return word.syllables.map((s) => {
      const label = t("assess.syllable_label", { character: s.character, pinyin: s.pinyin, score: num(s.accuracy, 0) });
      return el("span", { class: `part ${scoreClass(s.accuracy)}${s.tone_correct === false ? " tone-wrong" : ""}`,
        title: s.tone_correct === false ? `${label}; ${toneText(s)}` : label },
      el("span", { class: "pinyin", text: s.pinyin }));
    });
  }
  return (word.phones || []).map((p) => el("span", { class: `part ${scoreClass(p.accuracy)}`,
    title: t("assess.phone_label", { phone: p.phone, score: num(p.accuracy, 0) }), text: p.phone }));
}

function toneText(syllable) {
  const heard = syllable.detected_tone === null ? t("assess.tone_unknown") : syllable.detected_tone;
  return t("assess.tone", { expected: syllable.expected_tone, heard });
}

function wordView(word, audio) {
  const label = t("assess.word_label", { word: word.word, score: num(word.accuracy, 0), error: t(`assess.error.${word.error}`) });
  const parts = partsOf(word);
  const partLabels = parts.map((part) => part.title).join("; ");
  const attrs = {
    class: `assessed-word ${scoreClass(word.accuracy)} ${word.error}`, title: label,
    "aria-label": partLabels ? `${label}; ${partLabels}` : label,
    dataset: { accuracy: String(word.accuracy), error: word.error },
  };
  const children = [el("span", { class: "text", text: word.word }), parts.length ? el("span", { class: "parts" }, parts) : null];
  if (word.start === null || word.start === undefined) return el("span", attrs, ...children);
  return el("button", { ...attrs, type: "button", onclick: () => {
    audio.currentTime = word.start;
    audio.play().catch(() => {});
  } }, ...children);
}

function problemRows(assessment) {
  const rows = [];
  for (const word of assessment.words) {
    const problems = [];
    if (word.error !== "none") problems.push(t(`assess.error.${word.error}`));
    const weak = (word.phones || []).filter((p) => p.accuracy < 60).map((p) => p.phone);
    if (weak.length) problems.push(t("assess.weak_phones", { phones: weak.join(" ") }));
    for (const syllable of word.syllables || []) {
      if (syllable.tone_correct === false) problems.push(`${syllable.character} ${syllable.pinyin}: ${toneText(syllable)}`);
    }
    if (!problems.length && word.accuracy < 60) problems.push(t("assess.error.mispronunciation"));
    if (problems.length) rows.push({ word, problems });
  }
  return rows;
}

function resultView(result) {
  const { assessment } = result;
  const audio = el("audio", { controls: true, src: result.url, id: "assess-audio", preload: "auto" });
  const words = el("div", { class: "assessed-words", id: "assess-words", lang: assessment.language === "zh" ? "zh-CN" : "en" },
    assessment.words.map((word) => wordView(word, audio)));
  const problems = problemRows(assessment);
  return el("section", { class: "card", id: "assess-result", "aria-labelledby": "assess-scores",
    dataset: { words: String(assessment.words.length), total: String(assessment.total) } },
  el("h2", { id: "assess-scores", text: t("assess.scores") }), scoreCards(assessment),
  el("h2", { text: t("assess.words") }), legend(assessment.language), words,
  el("p", { class: "muted", text: t("assess.play_hint") }), audio,
  el("h2", { text: t("assess.problems") }),
  problems.length ? table([
    ["assess.word", (row) => row.word.word],
    ["assess.problem", (row) => row.problems.join("; ")],
    ["assess.score", (row) => el("span", { class: scoreClass(row.word.accuracy), text: num(row.word.accuracy, 0) })],
    ["assess.time", (row) => (row.word.start === null ? "–" : clock(row.word.start))],
  ], problems, { id: "assess-problems" }) : el("p", { text: t("assess.no_problems") }));
}

/** Wait for an assessment job (a long reading) to finish, showing its progress; its result, or throws. */
async function followJob(id, output, signal) {
  flash(t("assess.queued", { id }), "info");
  const bar = progressBar("assess.progress");
  output.replaceChildren(bar.node);
  for (;;) {
    const job = await get(`/v1/jobs/${encodeURIComponent(id)}`, { signal });
    bar.set(job.progress);
    if (job.status === "succeeded") return job.result;
    if (job.status === "failed") throw new Error(t("assess.job_failed", { message: job.error?.message || "" }));
    if (job.status === "cancelled") throw new Error(t("assess.job_cancelled"));
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    if (signal.aborted) throw new DOMException("left the page", "AbortError");
  }
}

export default {
  id: "assess",
  nav: "nav.assess",
  admin: false,
  render(root) {
    const leaving = new AbortController();
    let recording = null;
    const text = keepDraft(el("textarea", { id: "assess-text", rows: 3, maxlength: 2000 }), "assess.text");
    const language = keepDraft(select([["zh", "common.zh"], ["en", "common.en"]], "zh", { id: "assess-language" }),
      "assess.language");
    const file = el("input", { type: "file", id: "assess-file", accept: "audio/*,video/*" });
    const record = el("button", { type: "button", id: "assess-record", text: t("assess.record") });
    const meter = el("meter", { min: 0, max: 1, value: 0, id: "assess-level", "aria-label": t("assess.level") });
    const recordStatus = el("span", { class: "muted", "aria-live": "polite" });
    const chosen = el("div", { id: "assess-chosen" });
    const submit = el("button", { type: "submit", class: "primary", id: "assess-submit", text: t("assess.submit") });
    const output = el("div", { "aria-live": "polite" });
    meter.hidden = true;

    const showChosen = () => {
      chosen.replaceChildren(state.reading ? el("p", {}, t("assess.using", { name: state.reading.name }),
        el("audio", { controls: true, src: state.reading.url, class: "preview" })) : "");
    };
    file.addEventListener("change", () => {
      if (!file.files.length) return;
      setReading(file.files[0], file.files[0].name);
      showChosen();
    });
    const stopRecording = async () => {
      const current = recording;
      recording = null;
      const wav = await current.stop();
      record.textContent = t("assess.record");
      record.setAttribute("aria-pressed", "false");
      meter.hidden = true;
      recordStatus.textContent = "";
      setReading(wav, `${t("assess.recorded")}.wav`);
      file.value = "";
      showChosen();
    };
    record.addEventListener("click", async () => {
      if (recording) return stopRecording();
      record.disabled = true; // while the microphone opens
      try {
        recording = await recordWav({
          maxSeconds: MAX_RECORDING_S,
          constraints: RAW_VOICE,
          onLevel(level) {
            meter.value = level;
            recordStatus.textContent = t("assess.recording", { seconds: clock(recording?.seconds || 0) });
          },
        });
      } catch (error) {
        flash(micMessage(error));
        return undefined;
      } finally {
        record.disabled = false;
      }
      recording.finished.then((wav) => {
        if (wav && recording) stopRecording(); // reached the longest recording
      });
      record.textContent = t("assess.stop");
      record.setAttribute("aria-pressed", "true");
      meter.hidden = false;
      return undefined;
    });

    const form = el("form", { class: "card", id: "assess-form" },
      el("div", { class: "split" }, field("assess.text", text, "assess.text.help"), field("assess.language", language)),
      el("div", { class: "grid" }, field("assess.file", file, "assess.file.help"),
        el("div", { class: "field" }, el("span", { class: "label", text: t("assess.or") }),
          el("div", { class: "row" }, record, meter, recordStatus))),
      chosen, submit);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (!text.value.trim()) {
        flash(t("assess.need_text"));
        text.focus();
        return;
      }
      if (recording) {
        stopRecording().then(() => form.requestSubmit());
        return;
      }
      if (!state.reading) {
        flash(t("assess.need_audio"));
        file.focus();
        return;
      }
      const reading = state.reading;
      busy(submit, async () => {
        root.dataset.status = "working";
        const body = new FormData();
        body.append("file", reading.blob, reading.name);
        body.append("text", text.value.trim());
        body.append("language", language.value);
        try {
          let assessment = await post("/v1/assessments", { form: body, signal: leaving.signal });
          if (assessment.object === "job") assessment = await followJob(assessment.id, output, leaving.signal);
          if (state.result) URL.revokeObjectURL(state.result.url);
          state.result = { assessment, url: URL.createObjectURL(reading.blob) };
          output.replaceChildren(resultView(state.result));
          root.dataset.status = "done";
        } catch (error) {
          root.dataset.status = "error";
          output.replaceChildren(state.result ? resultView(state.result) : "");
          throw error;
        }
      });
    });

    root.append(heading("nav.assess"), form, output);
    showChosen();
    if (state.result) {
      output.append(resultView(state.result));
      root.dataset.status = "done";
    }
    return () => {
      leaving.abort();
      if (recording) recording.cancel();
    };
  },
};
