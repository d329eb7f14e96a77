// Jobs: GET /v1/jobs, newest first, a page at a time; filtered here by status, task and text (the API lists
// without filters); refreshed every two seconds while any job in view is queued or running; a job opened shows its
// options, error and result (readable JSON) and its result files (GET /v1/jobs/{id}/files/{name}); DELETE cancels.
import { del, get } from "../api.js";
import { addStrings, t } from "../i18n.js";
import { busy, download, el, field, flash, heading, keepDraft, select, table, when } from "../ui.js";

addStrings({
  zh: {
    "jobs.status": "状态", "jobs.task": "类型", "jobs.search": "搜索", "jobs.search.help": "按任务 ID、类型、选项或错误信息过滤本页。",
    "jobs.all": "全部", "jobs.id": "任务 ID", "jobs.progress": "进度",
    "jobs.finished": "结束时间", "jobs.open": "查看", "jobs.cancel": "取消任务",
    "jobs.confirm_cancel": "取消任务 {id}？已完成的部分不会保留。", "jobs.cancelled": "任务 {id} 已取消。",
    "jobs.page": "第 {first}–{last} 条，共 {total} 条", "jobs.previous": "上一页", "jobs.next": "下一页",
    "jobs.shown": "本页显示 {shown} / {count} 个任务", "jobs.detail": "任务 {id}", "jobs.options": "选项",
    "jobs.result": "结果", "jobs.error": "错误", "jobs.files": "结果文件", "jobs.download_json": "下载结果 JSON",
    "jobs.close": "关闭详情", "jobs.attempts": "尝试次数", "jobs.started": "开始时间", "jobs.callback": "回调",
    "jobs.auto": "有任务在排队或运行，每 2 秒自动刷新。", "jobs.text": "文本",
  },
  en: {
    "jobs.status": "Status", "jobs.task": "Task", "jobs.search": "Search",
    "jobs.search.help": "Filters this page by job id, task, options or error message.", "jobs.all": "All",
    "jobs.id": "Job id", "jobs.progress": "Progress",
    "jobs.finished": "Finished", "jobs.open": "Open", "jobs.cancel": "Cancel the job",
    "jobs.confirm_cancel": "Cancel job {id}? Work done so far is not kept.", "jobs.cancelled": "Job {id} was cancelled.",
    "jobs.page": "{first}–{last} of {total}", "jobs.previous": "Previous", "jobs.next": "Next",
    "jobs.shown": "Showing {shown} of the {count} jobs on this page", "jobs.detail": "Job {id}", "jobs.options": "Options",
    "jobs.result": "Result", "jobs.error": "Error", "jobs.files": "Result files", "jobs.download_json": "Download the result (JSON)",
    "jobs.close": "Close the details", "jobs.attempts": "Attempts", "jobs.started": "Started", "jobs.callback": "Callback",
    "jobs.auto": "Jobs are queued or running: refreshing every 2 seconds.", "jobs.text": "Text",
  },
});

const STATUSES = ["queued", "running", "succeeded", "failed", "cancelled"];
const ACTIVE = new Set(["queued", "running"]);
const PAGE_SIZE = 50;
const REFRESH_MS = 2000;

// The page of the list and the job opened survive a re-render (language switch, coming back to the page).
const state = { offset: 0, open: null };

const jobPath = (id) => `/v1/jobs/${encodeURIComponent(id)}`;

function statusBadge(job) {
  return el("span", { class: `badge ${job.status}`, text: t(`status.${job.status}`) });
}

function progressCell(job) {
  const percent = Math.round((job.progress || 0) * 100);
  if (!ACTIVE.has(job.status)) return job.status === "succeeded" ? "100 %" : "";
  return el("div", { class: "progress" },
    el("progress", { max: 1, value: job.progress || 0, "aria-label": `${t("jobs.progress")} ${job.id}` }),
    el("span", { class: "progress-text", text: `${percent} %` }));
}

function matches(job, status, task, words) {
  if (status && job.status !== status) return false;
  if (task && job.task !== task) return false;
  if (!words) return true;
  const haystack = [job.id, job.task, job.status, JSON.stringify(job.options || {}), job.error?.message || ""]
    .join(" ").toLowerCase();
  return words.split(/\s+/).every((word) => haystack.includes(word));
}

function pretty(value) {
  return el("pre", { class: "json", tabindex: "0", text: JSON.stringify(value, null, 2) });
}

/** A job's details: its times, options, error, result and result files. */
function detailView(job, onCancel, onClose) {
  const facts = [
    ["jobs.task", job.task], ["common.status", statusBadge(job)], ["common.created", when(job.created_at)],
    ["jobs.started", when(job.started_at)], ["jobs.finished", when(job.finished_at)],
    ["jobs.attempts", String(job.attempts)],
    job.callback ? ["jobs.callback", `${job.callback.url} (${job.callback.state || "–"}, ${job.callback.attempts})`] : null,
  ].filter(Boolean);
  const files = (job.result && job.result.files) || [];
  const close = el("button", { type: "button", class: "link", id: "job-close", text: t("jobs.close"), onclick: onClose });
  const actions = el("div", { class: "row" });
  if (ACTIVE.has(job.status)) actions.append(cancelButton(job, onCancel));
  if (job.result) {
    actions.append(el("button", { type: "button", id: "job-json", text: t("jobs.download_json"), onclick: () =>
      download(new Blob([JSON.stringify(job.result, null, 2)], { type: "application/json" }), `job-${job.id}.json`) }));
  }
  return el("section", { class: "card", id: "job-detail", "aria-labelledby": "job-detail-title",
    dataset: { job: job.id, status: job.status } },
  el("div", { class: "row spread" }, el("h2", { id: "job-detail-title", tabindex: "-1",
    text: t("jobs.detail", { id: job.id }) }), close),
  el("dl", { class: "facts" }, facts.flatMap(([key, value]) => [el("dt", { text: t(key) }), el("dd", {}, value)])),
  ACTIVE.has(job.status) ? progressCell(job) : null,
  actions,
  job.error ? [el("h3", { text: t("jobs.error") }), el("p", { class: "problems", text: `${job.error.code}: ${job.error.message}` })] : null,
  files.length ? [el("h3", { text: t("jobs.files") }), el("ul", { class: "files" }, files.map((name) => el("li", {},
    el("button", { type: "button", class: "link", dataset: { file: name }, text: name, onclick: (event) => busy(event.currentTarget,
      async () => download(await get(`${jobPath(job.id)}/files/${encodeURIComponent(name)}`, { expect: "blob" }), name)) }))))] : null,
  job.result && typeof job.result.text === "string"
    ? [el("h3", { text: t("jobs.text") }), el("p", { class: "job-text", text: job.result.text })] : null,
  job.result ? [el("h3", { text: t("jobs.result") }), pretty(job.result)] : null,
  el("h3", { text: t("jobs.options") }), pretty(job.options));
}

function cancelButton(job, onCancel) {
  const button = el("button", { type: "button", class: "danger", text: t("jobs.cancel"), dataset: { cancel: job.id },
    "aria-label": `${t("jobs.cancel")} ${job.id}` });
  button.addEventListener("click", () => {
    if (!window.confirm(t("jobs.confirm_cancel", { id: job.id }))) return;
    busy(button, async () => {
      await del(jobPath(job.id));
      flash(t("jobs.cancelled", { id: job.id }), "info");
      await onCancel();
    });
  });
  return button;
}

export default {
  id: "jobs",
  nav: "nav.jobs",
  admin: false,
  async render(root) {
    let timer = null;
    let left = false;
    let taskDraft = false;
    let page = { data: [], total: 0 };
    const status = keepDraft(select([["", "jobs.all"], ...STATUSES.map((s) => [s, `status.${s}`])], "",
      { id: "jobs-status" }), "jobs.status");
    const task = el("select", { id: "jobs-task" }, el("option", { value: "", text: t("jobs.all") }));
    const search = keepDraft(el("input", { type: "search", id: "jobs-search", autocomplete: "off" }), "jobs.search");
    const refresh = el("button", { type: "button", id: "jobs-refresh", text: t("common.refresh") });
    const previous = el("button", { type: "button", id: "jobs-previous", text: t("jobs.previous") });
    const next = el("button", { type: "button", id: "jobs-next", text: t("jobs.next") });
    const pager = el("span", { class: "muted" });
    const note = el("p", { class: "muted", "aria-live": "polite" });
    const list = el("div", {});
    const detail = el("div", {});

    const drawList = () => {
      // The task filter offers the tasks of the jobs in view; the choice is a draft once the options exist.
      const tasks = [...new Set(page.data.map((job) => job.task))].sort();
      const chosenTask = task.value;
      task.replaceChildren(el("option", { value: "", text: t("jobs.all") }),
        ...tasks.map((name) => el("option", { value: name, text: name })));
      if (taskDraft) task.value = tasks.includes(chosenTask) ? chosenTask : "";
      else {
        keepDraft(task, "jobs.task");
        taskDraft = true;
      }
      const words = search.value.trim().toLowerCase();
      const rows = page.data.filter((job) => matches(job, status.value, task.value, words));
      list.replaceChildren(el("p", { class: "muted", text: t("jobs.shown", { shown: rows.length, count: page.data.length }) }),
        table([
          ["jobs.id", (job) => el("span", { class: "mono", text: job.id })],
          ["jobs.task", (job) => job.task],
          ["common.status", statusBadge],
          ["jobs.progress", progressCell],
          ["common.created", (job) => when(job.created_at)],
          ["jobs.finished", (job) => when(job.finished_at)],
          ["common.actions", (job) => el("div", { class: "row" },
            el("button", { type: "button", text: t("jobs.open"), dataset: { open: job.id },
              "aria-label": `${t("jobs.open")} ${job.id}`, onclick: () => openJob(job.id) }),
            ACTIVE.has(job.status) ? cancelButton(job, load) : null)],
        ], rows, { id: "jobs-table" }));
      const last = Math.min(state.offset + page.data.length, page.total);
      pager.textContent = t("jobs.page", { first: page.total ? state.offset + 1 : 0, last, total: page.total });
      previous.disabled = state.offset === 0;
      next.disabled = state.offset + PAGE_SIZE >= page.total;
      root.dataset.jobs = String(page.data.length);
      root.dataset.shown = String(rows.length);
    };

    const drawDetail = async () => {
      if (!state.open) {
        detail.replaceChildren();
        return false;
      }
      try {
        const job = await get(jobPath(state.open));
        detail.replaceChildren(detailView(job, load, () => {
          state.open = null;
          detail.replaceChildren();
        }));
        return ACTIVE.has(job.status);
      } catch (error) {
        if (error.status === 404) state.open = null;
        throw error;
      }
    };

    // One refresh of the list and the open job; another is scheduled while anything is still queued or running.
    async function load() {
      clearTimeout(timer);
      page = await get("/v1/jobs", { query: { limit: PAGE_SIZE, offset: state.offset } });
      drawList();
      const openActive = await drawDetail();
      const active = openActive || page.data.some((job) => ACTIVE.has(job.status));
      note.textContent = active ? t("jobs.auto") : "";
      root.dataset.active = String(active);
      if (active && !left) timer = setTimeout(() => load().catch(() => {}), REFRESH_MS);
    }

    async function openJob(id) {
      state.open = id;
      await busy(refresh, load);
      document.getElementById("job-detail")?.scrollIntoView({ block: "nearest" });
      document.getElementById("job-detail-title")?.focus();
    }

    for (const control of [status, task, search]) control.addEventListener("input", drawList);
    refresh.addEventListener("click", () => busy(refresh, load));
    previous.addEventListener("click", () => {
      state.offset = Math.max(0, state.offset - PAGE_SIZE);
      busy(refresh, load);
    });
    next.addEventListener("click", () => {
      state.offset += PAGE_SIZE;
      busy(refresh, load);
    });

    root.append(heading("nav.jobs"),
      el("div", { class: "card" }, el("div", { class: "grid" }, field("jobs.status", status), field("jobs.task", task),
        field("jobs.search", search, "jobs.search.help")),
      el("div", { class: "row" }, refresh, previous, next, pager), note),
      list, detail);
    await busy(refresh, load);
    return () => {
      left = true;
      clearTimeout(timer);
    };
  },
};
