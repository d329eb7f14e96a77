// The evaluation platform: a tenant uploads a test set (a ZIP with manifest.tsv and audio, or the TSV and its
// files), runs the benchmark on it as a job (optionally with a hotword list or another engine), reads the run's
// report (summary, per-clip error rates, aligned reference/hypothesis) and compares two runs clip by clip.
// API: /v1/evaluations/testsets, /runs, /runs/{id}/report, /compare.
import { del, get, post } from "../api.js";
import { barChart } from "../chart.js";
import { addStrings, t } from "../i18n.js";
import { busy, download, el, field, flash, heading, keepDraft, num, progressBar, showError, table, when } from "../ui.js";

addStrings({
  zh: {
    "eval.intro": "用自己的录音测评识别效果：上传测试集（ZIP：manifest.tsv 与音频；或 TSV 加音频文件），运行评测，查看逐条错误与对比。",
    "eval.upload": "上传测试集", "eval.name": "测试集名称", "eval.zip": "ZIP 文件（含 manifest.tsv）",
    "eval.manifest": "或：清单文件 manifest.tsv", "eval.files": "及其音频文件（可多选）",
    "eval.format": "清单为制表符分隔、带表头：id、language（zh/en）、task（asr/pronunciation/diarization）、path、reference_text，可选 duration_s、ref_quality、notes。",
    "eval.upload.button": "上传", "eval.uploaded": "测试集“{name}”已保存：{count} 条。",
    "eval.problems": "测试集有 {total} 个问题，未保存。请改正后重新上传：",
    "eval.problem.row": "行", "eval.problem.id": "编号", "eval.problem.column": "列", "eval.problem.text": "问题",
    "eval.sets": "测试集", "eval.clips": "条数", "eval.audio": "音频时长", "eval.tasks": "任务",
    "eval.open": "打开", "eval.set": "测试集：{name}", "eval.clip_list": "查看全部 {count} 条",
    "eval.new_run": "新建评测", "eval.label": "评测名称（如“加入新热词表”）", "eval.hotword_list": "热词表",
    "eval.hotword_none": "（仅 default）", "eval.engine": "识别引擎", "eval.engine_default": "（服务器默认）",
    "eval.limit": "每个任务最多条数（可空）", "eval.start": "开始评测", "eval.started": "评测已开始。",
    "eval.runs": "评测记录", "eval.run": "评测", "eval.progress": "进度", "eval.view": "查看报告",
    "eval.report": "报告：{label}", "eval.summary": "概要", "eval.metric": "指标", "eval.value": "数值",
    "eval.per_clip": "逐条结果", "eval.rate": "错误率", "eval.errors": "错误（替/删/插）",
    "eval.diff": "对齐：参考 → 识别", "eval.chart": "各条错误率", "eval.full_report": "下载完整 HTML 报告",
    "eval.failures": "未能识别的条目", "eval.skipped": "未评测的任务",
    "eval.compare": "对比两次评测", "eval.base": "基准评测", "eval.other": "新评测", "eval.compare.button": "对比",
    "eval.compare.need": "需要至少两次已完成的评测。",
    "eval.compare.result": "“{other}”相对“{base}”：{better} 条更好，{worse} 条更差，{same} 条相同。",
    "eval.compare.mean": "平均每条错误率变化 {mean}（95% 区间 {low} 至 {high}；负数为改善）。",
    "eval.delta": "变化", "eval.untitled": "（未命名）", "eval.legend": "图例：",
    "eval.legend.sub": "替换", "eval.legend.del": "漏识", "eval.legend.ins": "多识",
  },
  en: {
    "eval.intro": "Measure recognition on your own recordings: upload a test set (a ZIP with manifest.tsv and the audio, or the TSV with its audio files), run the benchmark, read the errors clip by clip and compare runs.",
    "eval.upload": "Upload a test set", "eval.name": "Test set name", "eval.zip": "ZIP file (with manifest.tsv)",
    "eval.manifest": "Or: the manifest (manifest.tsv)", "eval.files": "and its audio files (several)",
    "eval.format": "Tab-separated with a header row: id, language (zh/en), task (asr/pronunciation/diarization), path, reference_text; optional duration_s, ref_quality, notes.",
    "eval.upload.button": "Upload", "eval.uploaded": "Test set “{name}” saved: {count} clips.",
    "eval.problems": "The test set has {total} problems and was not saved. Fix them and upload it again:",
    "eval.problem.row": "Line", "eval.problem.id": "Id", "eval.problem.column": "Column", "eval.problem.text": "Problem",
    "eval.sets": "Test sets", "eval.clips": "Clips", "eval.audio": "Audio", "eval.tasks": "Tasks",
    "eval.open": "Open", "eval.set": "Test set: {name}", "eval.clip_list": "All {count} clips",
    "eval.new_run": "New run", "eval.label": "Run name (e.g. “with the new hotwords”)", "eval.hotword_list": "Hotword list",
    "eval.hotword_none": "(default only)", "eval.engine": "Engine", "eval.engine_default": "(server default)",
    "eval.limit": "At most this many clips per task (optional)", "eval.start": "Start the run",
    "eval.started": "The run started.", "eval.runs": "Runs", "eval.run": "Run", "eval.progress": "Progress",
    "eval.view": "Report", "eval.report": "Report: {label}", "eval.summary": "Summary", "eval.metric": "Metric",
    "eval.value": "Value", "eval.per_clip": "Clip by clip", "eval.rate": "Error rate",
    "eval.errors": "Errors (sub/del/ins)", "eval.diff": "Alignment: reference → recognized",
    "eval.chart": "Error rate per clip", "eval.full_report": "Download the full HTML report",
    "eval.failures": "Clips that could not be recognized", "eval.skipped": "Tasks not benchmarked",
    "eval.compare": "Compare two runs", "eval.base": "Base run", "eval.other": "New run", "eval.compare.button": "Compare",
    "eval.compare.need": "Two finished runs are needed.",
    "eval.compare.result": "“{other}” against “{base}”: better on {better} clips, worse on {worse}, the same on {same}.",
    "eval.compare.mean": "Mean change of the per-clip error rate {mean} (95 % interval {low} to {high}; negative is better).",
    "eval.delta": "Change", "eval.untitled": "(untitled)", "eval.legend": "Legend:",
    "eval.legend.sub": "substituted", "eval.legend.del": "missed", "eval.legend.ins": "inserted",
  },
});

// What the user looked at, kept across re-renders (language switch, navigating away and back).
const state = { setId: null, runId: null, base: "", other: "", comparison: null, problems: null };
const POLL_MS = 1500;
const ACTIVE = new Set(["queued", "running"]);

const runName = (run) => run.label || `${t("eval.untitled")} ${when(run.created_at)}`;
const percent = (value) => (value === null || value === undefined ? "–" : `${(value * 100).toFixed(1)} %`);

export default {
  id: "evaluate",
  nav: "nav.evaluate",
  admin: false,
  render(root) {
    let timer = null;
    let alive = true;
    const setsBox = el("section", { class: "card", "aria-labelledby": "eval-sets" });
    const setBox = el("section", { id: "eval-set" });
    const reportBox = el("section", { id: "eval-report" });
    const compareBox = el("section", { id: "eval-compare" });
    root.append(heading("nav.evaluate"), el("p", { class: "muted", text: t("eval.intro") }),
      uploadForm(), problemsBox(), setsBox, setBox, reportBox, compareBox);

    function problemsBox() {
      const box = el("div", { id: "eval-problems", class: "card problems", role: "alert", hidden: !state.problems });
      if (state.problems) fillProblems(box, state.problems);
      return box;
    }

    function uploadForm() {
      const name = keepDraft(el("input", { type: "text", required: true, maxlength: 200, id: "eval-name" }), "eval.name");
      const zip = el("input", { type: "file", accept: ".zip,application/zip", id: "eval-zip" });
      const manifest = el("input", { type: "file", accept: ".tsv,.txt,text/tab-separated-values", id: "eval-manifest" });
      const files = el("input", { type: "file", multiple: true, accept: "audio/*,video/*", id: "eval-files" });
      const button = el("button", { type: "submit", class: "primary", text: t("eval.upload.button") });
      const form = el("form", { class: "card", "aria-labelledby": "eval-upload" },
        el("h2", { id: "eval-upload", text: t("eval.upload") }),
        el("p", { class: "muted", text: t("eval.format") }),
        field("eval.name", name),
        el("div", { class: "grid" }, field("eval.zip", zip), field("eval.manifest", manifest), field("eval.files", files)),
        button);
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        const body = new FormData();
        body.append("name", name.value.trim());
        if (zip.files.length) body.append("file", zip.files[0]);
        if (manifest.files.length) body.append("manifest", manifest.files[0]);
        for (const file of files.files) body.append("files", file);
        await busy(button, async () => {
          try {
            const created = await post("/v1/evaluations/testsets", { form: body });
            state.problems = null;
            root.querySelector("#eval-problems").hidden = true;
            flash(t("eval.uploaded", { name: created.name, count: created.clip_count }), "info");
            state.setId = created.id;
            state.runId = null;
            zip.value = manifest.value = files.value = "";
            await refresh();
          } catch (error) {
            if (!error.body || !error.body.problems) throw error;
            state.problems = error.body;
            const box = root.querySelector("#eval-problems");
            fillProblems(box, error.body);
            box.hidden = false;
            box.focus();
          }
        });
      });
      return form;
    }

    function fillProblems(box, body) {
      box.tabIndex = -1;
      box.replaceChildren(el("p", { text: t("eval.problems", { total: body.problems_total ?? body.problems.length }) }),
        el("p", { text: body.error ? body.error.message : "" }),
        table([
          ["eval.problem.row", (p) => p.row ?? ""], ["eval.problem.id", (p) => p.id ?? ""],
          ["eval.problem.column", (p) => p.column ?? ""], ["eval.problem.text", (p) => p.problem],
        ], body.problems, { "data-test": "problems" }));
    }

    async function refresh() {
      const sets = await get("/v1/evaluations/testsets");
      if (!alive) return;
      setsBox.replaceChildren(el("h2", { id: "eval-sets", text: t("eval.sets") }), table([
        ["common.name", (s) => s.name],
        ["eval.clips", (s) => String(s.clip_count)],
        ["eval.audio", (s) => `${num(s.audio_seconds, 1)} s`],
        ["eval.tasks", (s) => s.tasks.join(", ")],
        ["common.created", (s) => when(s.created_at)],
        ["common.actions", (s) => el("div", { class: "row" },
          el("button", { type: "button", text: t("eval.open"), dataset: { test: "open-set" }, onclick: () => {
            state.setId = s.id;
            state.runId = null;
            state.comparison = null;
            showSet();
          } }),
          el("button", { type: "button", class: "danger", text: t("common.delete"), onclick: async (event) => {
            if (!confirm(t("common.confirm_delete", { name: s.name }))) return;
            await busy(event.currentTarget, async () => {
              await del(`/v1/evaluations/testsets/${s.id}`);
              if (state.setId === s.id) Object.assign(state, { setId: null, runId: null, comparison: null });
              await refresh();
            });
          } }))],
      ], sets.data, { "data-test": "sets" }));
      if (state.setId && !sets.data.some((s) => s.id === state.setId)) state.setId = null;
      await showSet();
    }

    async function showSet() {
      clearTimeout(timer);
      if (!state.setId) {
        setBox.replaceChildren();
        reportBox.replaceChildren();
        compareBox.replaceChildren();
        return;
      }
      try {
        const [set, runs] = await Promise.all([
          get(`/v1/evaluations/testsets/${state.setId}`),
          get("/v1/evaluations/runs", { query: { testset_id: state.setId, limit: 100 } }),
        ]);
        if (!alive) return;
        setBox.dataset.set = set.id;
        setBox.replaceChildren(el("div", { class: "card" },
          el("h2", { text: t("eval.set", { name: set.name }) }),
          el("details", {}, el("summary", { text: t("eval.clip_list", { count: set.clip_count }) }), table([
            ["eval.problem.id", (c) => c.id], ["common.language", (c) => c.language], ["eval.tasks", (c) => c.task],
            ["eval.audio", (c) => `${num(c.duration_s, 1)} s`], ["eval.per_clip", (c) => c.reference_text],
          ], set.clips)),
          await runForm(set), runsTable(runs.data)));
        await showReport();
        showCompare(runs.data.filter((run) => run.status === "succeeded"));
        if (runs.data.some((run) => ACTIVE.has(run.status))) timer = setTimeout(showSet, POLL_MS);
      } catch (error) {
        showError(error);
      }
    }

    async function runForm(set) {
      const [lists, models] = await Promise.all([
        get("/v1/hotwords").catch(() => ({ data: [] })),
        get("/v1/models").catch(() => ({ data: [] })),
      ]);
      const label = keepDraft(el("input", { type: "text", maxlength: 200, id: "eval-label" }), "eval.label");
      const hotwords = el("select", { id: "eval-hotwords" }, el("option", { value: "", text: t("eval.hotword_none") }),
        lists.data.filter((l) => l.name !== "default").map((l) => el("option", { value: l.name, text: l.name })));
      const engine = el("select", { id: "eval-engine" }, el("option", { value: "", text: t("eval.engine_default") }),
        models.data.map((m) => el("option", { value: m.id, text: m.id })));
      const limit = el("input", { type: "number", min: 1, step: 1, id: "eval-limit" });
      const button = el("button", { type: "submit", class: "primary", text: t("eval.start") });
      const form = el("form", { "aria-labelledby": "eval-new-run" },
        el("h3", { id: "eval-new-run", text: t("eval.new_run") }),
        el("div", { class: "grid" }, field("eval.label", label), field("eval.hotword_list", hotwords),
          field("eval.engine", engine), field("eval.limit", limit)),
        button);
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        const body = { testset_id: set.id, label: label.value.trim() };
        if (hotwords.value) body.hotword_list = hotwords.value;
        if (engine.value) body.engine = engine.value;
        if (limit.value) body.limit = Number(limit.value);
        await busy(button, async () => {
          const run = await post("/v1/evaluations/runs", { json: body });
          flash(t("eval.started"), "info");
          state.runId = run.id;
          await showSet();
        });
      });
      return form;
    }

    function runsTable(runs) {
      return el("div", {}, el("h3", { text: t("eval.runs") }), table([
        ["eval.run", (r) => runName(r)],
        ["common.status", (r) => el("span", { class: `badge ${r.status}`, text: t(`status.${r.status}`),
          dataset: { status: r.status } })],
        ["eval.progress", (r) => {
          const bar = progressBar("eval.progress");
          bar.set(r.status === "succeeded" ? 1 : r.progress);
          return bar.node;
        }],
        ["eval.summary", (r) => summaryLine(r.summary)],
        ["common.created", (r) => when(r.created_at)],
        ["common.actions", (r) => el("div", { class: "row" },
          el("button", { type: "button", text: t("eval.view"), disabled: r.status !== "succeeded",
            dataset: { test: "view-run" }, onclick: () => {
              state.runId = r.id;
              showReport();
            } }),
          el("button", { type: "button", class: "danger", text: t("common.delete"), onclick: async (event) => {
            if (!confirm(t("common.confirm_delete", { name: runName(r) }))) return;
            await busy(event.currentTarget, async () => {
              await del(`/v1/evaluations/runs/${r.id}`);
              if (state.runId === r.id) state.runId = null;
              await showSet();
            });
          } }))],
      ], runs, { "data-test": "runs" }));
    }

    async function showReport() {
      if (!state.runId) {
        reportBox.replaceChildren();
        return;
      }
      const run = await get(`/v1/evaluations/runs/${state.runId}`);
      if (!alive) return;
      reportBox.dataset.run = run.id;
      reportBox.dataset.status = run.status;
      if (run.status !== "succeeded") {
        reportBox.replaceChildren(el("div", { class: "card" }, el("h2", { text: t("eval.report", { label: runName(run) }) }),
          el("p", { text: run.error ? run.error.message : `${run.status} · ${Math.round(run.progress * 100)} %` })));
        return;
      }
      const downloads = run.tasks.map((task) => el("button", { type: "button", text: `${t("eval.full_report")} (${task})`,
        onclick: (event) => busy(event.currentTarget, async () => {
          const html = await get(`/v1/evaluations/runs/${run.id}/report`, { query: { task }, expect: "blob" });
          download(html, `report-${task}-${run.id}.html`);
        }) }));
      reportBox.replaceChildren(el("div", { class: "card" },
        el("h2", { text: t("eval.report", { label: runName(run) }) }),
        summaryTable(run.summary),
        run.skipped.length ? el("p", { class: "muted" }, `${t("eval.skipped")}: `,
          run.skipped.map((s) => `${s.task} (${s.reason})`).join("; ")) : null,
        run.clips.length ? barChart({
          title: t("eval.chart"), categories: run.clips.map((c) => c.id),
          series: [{ name: t("eval.rate"), values: run.clips.map((c) => c.error_rate) }],
          format: (v) => `${(v * 100).toFixed(0)} %`, label: (id) => id.slice(-6),
        }) : null,
        el("h3", { text: t("eval.per_clip") }), legend(),
        table([
          ["eval.problem.id", (c) => c.id],
          ["eval.rate", (c) => el("span", { class: "mono", text: `${c.metric.toUpperCase()} ${percent(c.error_rate)}` })],
          ["eval.errors", (c) => `${c.substitutions}/${c.deletions}/${c.insertions}`],
          ["eval.diff", (c) => alignment(c)],
        ], run.clips, { "data-test": "clips" }),
        run.failures.length ? el("div", {}, el("h3", { text: t("eval.failures") }),
          el("ul", {}, run.failures.map((f) => el("li", { text: `${f.id}: ${f.message}` })))) : null,
        el("div", { class: "row" }, downloads)));
    }

    function showCompare(finished) {
      if (finished.length < 2) {
        compareBox.replaceChildren(el("div", { class: "card" }, el("h2", { text: t("eval.compare") }),
          el("p", { class: "muted", text: t("eval.compare.need") })));
        return;
      }
      const choices = (id, chosen) => el("select", { id }, finished.map((r) =>
        el("option", { value: r.id, text: runName(r), selected: r.id === chosen })));
      const ids = finished.map((r) => r.id);
      const base = choices("eval-base", ids.includes(state.base) ? state.base : ids[1]);
      const other = choices("eval-other", ids.includes(state.other) ? state.other : ids[0]);
      const button = el("button", { type: "submit", class: "primary", text: t("eval.compare.button") });
      const result = el("div", { id: "eval-comparison" });
      const form = el("form", { class: "card", "aria-labelledby": "eval-compare-title" },
        el("h2", { id: "eval-compare-title", text: t("eval.compare") }),
        el("div", { class: "grid" }, field("eval.base", base), field("eval.other", other)), button, result);
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        state.base = base.value;
        state.other = other.value;
        await busy(button, async () => {
          state.comparison = await get("/v1/evaluations/compare", { query: { base: base.value, other: other.value } });
          fillComparison(result, state.comparison);
        });
      });
      if (state.comparison && state.comparison.testset_id === state.setId) fillComparison(result, state.comparison);
      compareBox.replaceChildren(form);
    }

    refresh().catch(showError);
    return () => {
      alive = false;
      clearTimeout(timer);
    };
  },
};

function summaryLine(summary) {
  if (!summary || !summary.asr) return "";
  const asr = summary.asr;
  return ["zh.cer", "en.wer"].filter((key) => flatten(asr)[key] !== undefined)
    .map((key) => `${key} ${percent(flatten(asr)[key])}`).join(" · ");
}

/** {"asr": {"zh": {"cer": 0.1}}} → {"zh.cer": 0.1} for one task (numbers only). */
function flatten(object, prefix = "", into = {}) {
  for (const [key, value] of Object.entries(object || {})) {
    const name = prefix ? `${prefix}.${key}` : key;
    if (typeof value === "number") into[name] = value;
    else if (value && typeof value === "object" && !Array.isArray(value)) flatten(value, name, into);
  }
  return into;
}

function summaryTable(summary) {
  const rows = Object.entries(summary || {}).flatMap(([task, numbers]) =>
    Object.entries(flatten(numbers)).map(([key, value]) => ({ key: `${task}.${key}`, value })));
  return el("div", {}, el("h3", { text: t("eval.summary") }), table([
    ["eval.metric", (row) => el("span", { class: "mono", text: row.key })],
    ["eval.value", (row) => (/(cer|wer)$/.test(row.key) ? percent(row.value) : num(row.value, 3))],
  ], rows, { "data-test": "summary" }));
}

function legend() {
  return el("p", { class: "diff muted" }, `${t("eval.legend")} `,
    el("del", { class: "substitute", text: t("eval.legend.sub") }), " ",
    el("del", { class: "delete", text: t("eval.legend.del") }), " ",
    el("ins", { class: "insert", text: t("eval.legend.ins") }));
}

/** A clip's alignment inline: equal text plain, substitutions as struck reference + recognized text, deletions
 * struck, insertions marked (English words keep their spaces). */
function alignment(clip) {
  const gap = clip.language === "en" ? " " : "";
  const parts = [];
  for (const run of clip.alignment) {
    if (parts.length && gap) parts.push(gap);
    if (run.op === "equal") parts.push(el("span", { class: "equal", text: run.ref }));
    else if (run.op === "substitute") {
      parts.push(el("del", { class: "substitute", text: run.ref }), el("span", { class: "arrow", "aria-hidden": "true", text: "→" }),
        el("ins", { class: "substitute", text: run.hyp }));
    } else if (run.op === "delete") parts.push(el("del", { class: "delete", text: run.ref }));
    else parts.push(el("ins", { class: "insert", text: run.hyp }));
  }
  return el("div", { class: "diff", dataset: { clip: clip.id } }, parts);
}

function fillComparison(box, comparison) {
  const c = comparison;
  const meter = (value) => el("meter", { min: 0, max: 1, value: Math.min(1, value), title: percent(value) });
  box.dataset.compared = String(c.compared);
  box.replaceChildren(
    el("p", { text: t("eval.compare.result", { base: runName(c.base), other: runName(c.other), better: c.better,
      worse: c.worse, same: c.same }) }),
    c.ci95 ? el("p", { text: t("eval.compare.mean", { mean: percent(c.mean_difference), low: percent(c.ci95[0]),
      high: percent(c.ci95[1]) }) }) : null,
    table([
      ["eval.metric", (row) => el("span", { class: "mono", text: row.key })],
      ["eval.base", (row) => num(row.base, 3)], ["eval.other", (row) => num(row.other, 3)],
      ["eval.delta", (row) => num(row.delta, 3)],
    ], c.summary, { "data-test": "compare-summary" }),
    table([
      ["eval.problem.id", (row) => row.id],
      ["eval.base", (row) => el("div", {}, meter(row.base_rate), ` ${percent(row.base_rate)}`,
        el("div", { class: "muted", text: row.base_hypothesis }))],
      ["eval.other", (row) => el("div", {}, meter(row.other_rate), ` ${percent(row.other_rate)}`,
        el("div", { class: "muted", text: row.other_hypothesis }))],
      ["eval.delta", (row) => percent(row.difference)],
    ], c.clips, { "data-test": "compare-clips" }));
}
