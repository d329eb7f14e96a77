// A tiny SVG bar chart, no library: one bar per category (a day), stacked by series (a capability), a y axis
// with a round maximum, and every bar's numbers in its <title> (a tooltip, and read by screen readers). Colours
// come from the style sheet's .series-N classes, so the chart obeys the page's CSP (no inline styles).
import { el } from "./ui.js";

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 480;
const HEIGHT = 200;
const MARGIN = { top: 12, right: 6, bottom: 26, left: 48 };
const MAX_LABELS = 8; // x labels shown at most; the others are in the bars' titles

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  node.append(...children);
  return node;
}

/** 0 → 1, 37 → 40, 1234 → 1500: a round axis maximum at or above ``value``. */
function roundUp(value) {
  if (value <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  const step = [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10].find((m) => m * power >= value);
  return step * power;
}

/**
 * A stacked bar chart as a <figure class="chart">.
 * categories: x labels (e.g. days, oldest first); series: [{name, values}] (values aligned with categories);
 * format(value) → text for the axis and titles; label(category) → the short x label; title: the chart's
 * accessible name (and caption).
 * Every bar segment carries data-category, data-series and data-value for tests and tools.
 */
export function barChart({ title, categories, series, format = String, label = String }) {
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const totals = categories.map((_, i) => series.reduce((sum, s) => sum + (s.values[i] || 0), 0));
  const top = roundUp(Math.max(0, ...totals));
  const slot = plotWidth / Math.max(1, categories.length);
  const barWidth = Math.max(1, slot * 0.7);
  const y = (value) => MARGIN.top + plotHeight - (value / top) * plotHeight;

  const grid = [0, 0.5, 1].map((fraction) => svg("g", { class: "tick" },
    svg("line", { x1: MARGIN.left, x2: WIDTH - MARGIN.right, y1: y(top * fraction), y2: y(top * fraction) }),
    svg("text", { x: MARGIN.left - 6, y: y(top * fraction) + 4, "text-anchor": "end" }, format(top * fraction))));
  const every = Math.ceil(categories.length / MAX_LABELS);
  const bars = categories.map((category, i) => {
    const x = MARGIN.left + i * slot + (slot - barWidth) / 2;
    let base = 0;
    const parts = series.map((s, n) => {
      const value = s.values[i] || 0;
      const rect = svg("rect", {
        x, width: barWidth, y: y(base + value), height: Math.max(0, y(base) - y(base + value)),
        class: `series-${n % 8}`, "data-category": category, "data-series": s.name, "data-value": value,
      }, svg("title", {}, `${category} · ${s.name}: ${format(value)}`));
      base += value;
      return rect;
    });
    const text = i % every === 0
      ? [svg("text", { x: x + barWidth / 2, y: HEIGHT - 8, "text-anchor": "middle", class: "label" }, label(category))]
      : [];
    return svg("g", { class: "bar" }, ...parts, ...text);
  });
  const chart = svg("svg", { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img", "aria-label": title,
    preserveAspectRatio: "xMidYMid meet" }, ...grid, ...bars);
  const legend = el("ul", { class: "legend" }, series.map((s, n) => el("li", {},
    el("span", { class: `swatch series-${n % 8}`, "aria-hidden": "true" }), s.name)));
  return el("figure", { class: "chart" }, el("figcaption", { text: title }), chart, legend);
}
