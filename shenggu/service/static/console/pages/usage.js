// Usage: GET /v1/usage?days=N → the tenant's limits and today's use against the daily quotas, one bar chart per
// metric (a bar per UTC day, stacked by capability) and the same numbers as a table (the charts' accessible
// alternative).
import { get } from "../api.js";
import { barChart } from "../chart.js";
import { addStrings, t } from "../i18n.js";
import { busy, el, field, heading, keepDraft, num, progressBar, select, table } from "../ui.js";

addStrings({
  zh: {
    "usage.days": "时间范围", "usage.days.7": "最近 7 天", "usage.days.30": "最近 30 天", "usage.days.90": "最近 90 天",
    "usage.limits": "限额与今日用量", "usage.charts": "每日用量", "usage.table": "明细",
    "usage.requests": "请求数", "usage.audio_seconds": "音频秒数", "usage.characters": "字符数",
    "usage.tokens": "大模型 token 数", "usage.day": "日期（UTC）", "usage.capability": "能力",
    "usage.unlimited": "不限", "usage.quota_seconds": "每日音频配额", "usage.quota_characters": "每日字符配额",
    "usage.rate": "每分钟请求数上限", "usage.max_audio": "单个音频最长",
    "usage.today_seconds": "今日音频用量", "usage.today_characters": "今日字符用量（合成、翻译、助手）",
    "usage.of": "{used} / {limit}", "usage.seconds": "{value} 秒", "usage.empty": "这段时间没有用量。",
  },
  en: {
    "usage.days": "Period", "usage.days.7": "Last 7 days", "usage.days.30": "Last 30 days",
    "usage.days.90": "Last 90 days", "usage.limits": "Limits and today's use", "usage.charts": "Use per day",
    "usage.table": "Details", "usage.requests": "Requests", "usage.audio_seconds": "Audio seconds",
    "usage.characters": "Characters", "usage.tokens": "Language-model tokens", "usage.day": "Day (UTC)",
    "usage.capability": "Capability", "usage.unlimited": "Unlimited", "usage.quota_seconds": "Daily audio quota",
    "usage.quota_characters": "Daily character quota", "usage.rate": "Requests per minute",
    "usage.max_audio": "Longest audio", "usage.today_seconds": "Audio used today",
    "usage.today_characters": "Characters used today (speech, translation, assistant)",
    "usage.of": "{used} of {limit}", "usage.seconds": "{value} s", "usage.empty": "No use in this period.",
  },
});

// Charts drawn for every period; tokens only when some were used (only the assistant and QA use a model).
const METRICS = [
  { key: "requests", label: "usage.requests", format: (v) => String(Math.round(v)), always: true },
  { key: "audio_seconds", label: "usage.audio_seconds", format: (v) => num(v, v < 10 ? 1 : 0), always: true },
  { key: "characters", label: "usage.characters", format: (v) => String(Math.round(v)), always: true },
  { key: "tokens", label: "usage.tokens", format: (v) => String(Math.round(v)), always: false },
];

/** The last ``days`` UTC days, oldest first, as YYYY-MM-DD (the server's day keys). */
function dayRange(days) {
  const today = new Date();
  return Array.from({ length: days }, (_, i) => {
    const day = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() - (days - 1 - i)));
    return day.toISOString().slice(0, 10);
  });
}

function seconds(value) {
  return t("usage.seconds", { value: num(value, 1) });
}

function limitsCard(report) {
  const { limits } = report;
  const show = (value, format = String) => (value === null || value === undefined ? t("usage.unlimited") : format(value));
  const rows = [
    ["usage.quota_seconds", show(limits.quota_seconds_per_day, seconds)],
    ["usage.today_seconds", limits.quota_seconds_per_day === null ? seconds(report.audio_seconds_today)
      : t("usage.of", { used: seconds(report.audio_seconds_today), limit: seconds(limits.quota_seconds_per_day) })],
    ["usage.quota_characters", show(limits.quota_characters_per_day)],
    ["usage.today_characters", limits.quota_characters_per_day === null ? String(report.characters_today)
      : t("usage.of", { used: report.characters_today, limit: limits.quota_characters_per_day })],
    ["usage.rate", show(limits.rate_per_minute)],
    ["usage.max_audio", show(limits.max_audio_seconds, seconds)],
  ];
  const list = el("dl", { class: "facts" }, rows.flatMap(([key, value]) => [el("dt", { text: t(key) }), el("dd", { text: value })]));
  const bars = [];
  for (const [used, limit, label] of [
    [report.audio_seconds_today, limits.quota_seconds_per_day, "usage.today_seconds"],
    [report.characters_today, limits.quota_characters_per_day, "usage.today_characters"],
  ]) {
    if (!limit) continue;
    const bar = progressBar(label);
    bar.set(used / limit);
    bars.push(el("div", { class: "field" }, el("span", { text: t(label) }), bar.node));
  }
  return el("section", { class: "card", "aria-labelledby": "usage-limits" },
    el("h2", { id: "usage-limits", text: t("usage.limits") }), list, bars);
}

function charts(report, days) {
  const categories = dayRange(days);
  const capabilities = [...new Set(report.data.map((row) => row.capability))].sort();
  const byKey = new Map(report.data.map((row) => [`${row.day}|${row.capability}`, row]));
  const shown = METRICS.filter((m) => m.always || report.data.some((row) => row[m.key] > 0));
  const figures = shown.map((metric) => {
    const figure = barChart({
      title: t(metric.label),
      categories,
      series: capabilities.map((capability) => ({
        name: capability,
        values: categories.map((day) => byKey.get(`${day}|${capability}`)?.[metric.key] || 0),
      })),
      format: metric.format,
      label: (day) => day.slice(5),
    });
    figure.dataset.metric = metric.key;
    return figure;
  });
  return el("section", { "aria-labelledby": "usage-charts" },
    el("h2", { id: "usage-charts", text: t("usage.charts") }),
    report.data.length ? null : el("p", { class: "muted", text: t("usage.empty") }),
    el("div", { class: "chart-grid" }, figures));
}

function details(report) {
  return el("section", { "aria-labelledby": "usage-table" },
    el("h2", { id: "usage-table", text: t("usage.table") }),
    table([
      ["usage.day", (row) => row.day],
      ["usage.capability", (row) => row.capability],
      ["usage.requests", (row) => String(row.requests)],
      ["usage.audio_seconds", (row) => num(row.audio_seconds, 1)],
      ["usage.characters", (row) => String(row.characters)],
      ["usage.tokens", (row) => String(row.tokens)],
    ], report.data, { id: "usage-rows" }));
}

export default {
  id: "usage",
  nav: "nav.usage",
  admin: false,
  async render(root) {
    const period = keepDraft(select([["7", "usage.days.7"], ["30", "usage.days.30"], ["90", "usage.days.90"]], "30",
      { id: "usage-days" }), "usage.days");
    const refresh = el("button", { type: "button", id: "usage-refresh", text: t("common.refresh") });
    const body = el("div", {});
    root.append(heading("nav.usage"), el("div", { class: "row toolbar" }, field("usage.days", period), refresh), body);
    const load = async () => {
      const days = Number(period.value);
      const report = await get("/v1/usage", { query: { days } });
      body.replaceChildren(limitsCard(report), charts(report, days), details(report));
      root.dataset.rows = String(report.data.length);
    };
    period.addEventListener("change", () => busy(refresh, load));
    refresh.addEventListener("click", () => busy(refresh, load));
    await busy(refresh, load);
  },
};
