"""Writing of benchmark results: a machine-readable ``results.json`` and a self-contained ``report.html``.

Task-neutral (ASR today; TTS, diarization... later): callers pass plain dicts and rows, and figures made with
``bar_plot`` / ``scatter_plot`` or any matplotlib figure through ``Figure.from_matplotlib``. Plots use
matplotlib's object-oriented API with the Agg canvas, never pyplot, so no global backend or figure state is
touched and nothing needs a display. The default font has no CJK glyphs: label plots with ASCII (clip ids).
"""

from __future__ import annotations

import base64
import dataclasses
import html
import io
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import matplotlib.figure

RESULTS_NAME = "results.json"
REPORT_NAME = "report.html"

Table = tuple[str, Sequence[str], Sequence[Sequence[Any]]]
"""``(caption, headers, rows)`` of one HTML table."""


@dataclass(frozen=True)
class Figure:
    """A rendered plot: its caption and PNG bytes."""

    caption: str
    png: bytes

    @classmethod
    def from_matplotlib(cls, caption: str, fig: matplotlib.figure.Figure) -> Figure:
        """Render a matplotlib figure to PNG (tight bounding box, so rotated tick labels are not cut)."""
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
        return cls(caption, buf.getvalue())


# --------------------------------------------------------------------------------------------------------
# results.json
# --------------------------------------------------------------------------------------------------------


def write_results(out_dir: Path, summary: dict, utterances: list[dict], extra: dict | None = None) -> Path:
    """Write ``out_dir/results.json`` = ``{"summary": ..., "utterances": ..., **extra}`` and return its path.

    Paths and dataclasses are written as strings and objects, numpy scalars as numbers, and NaN/infinity as
    ``null`` (strict JSON has no such numbers). ``extra`` must not reuse the keys ``summary``/``utterances``.
    """
    extra = extra or {}
    clash = {"summary", "utterances"} & extra.keys()
    if clash:
        raise ValueError(f"extra must not contain {sorted(clash)}")
    document = _jsonable({"summary": summary, "utterances": utterances, **extra})
    text = json.dumps(document, ensure_ascii=False, indent=2, allow_nan=False) + "\n"
    return _write_text(Path(out_dir) / RESULTS_NAME, text)


def _jsonable(value: Any) -> Any:
    """A copy of ``value`` made only of JSON types."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _jsonable(dataclasses.asdict(value))
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        return _jsonable(value.tolist())  # numpy scalar or array → Python numbers and lists
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _write_text(path: Path, text: str) -> Path:
    """Write UTF-8 text through a temporary file, so an interrupted run never leaves a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path


# --------------------------------------------------------------------------------------------------------
# report.html
# --------------------------------------------------------------------------------------------------------

_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 70em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
caption { font-weight: bold; text-align: left; padding: .3em 0; }
th, td { border: 1px solid #ccc; padding: .25em .6em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
figure { margin: 1.5em 0; }
img { max-width: 100%; }
"""


def write_html_report(
    out_dir: Path,
    title: str,
    summary: dict,
    figures: Sequence[Figure] = (),
    tables: Sequence[Table] = (),
    blocks: Sequence[str] = (),
    name: str = REPORT_NAME,
) -> Path:
    """Write a self-contained ``out_dir/<name>`` (summary table, ``blocks`` of ready HTML, embedded PNG figures,
    then tables)."""
    body = [f"<h1>{_esc(title)}</h1>", _table("Summary", ("key", "value"), list(summary.items()))]
    body += list(blocks)
    body += [_figure(f) for f in figures]
    body += [_table(caption, headers, rows) for caption, headers, rows in tables]
    page = (
        '<!DOCTYPE html>\n<html>\n<head>\n<meta charset="utf-8">\n'
        f"<title>{_esc(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )
    return _write_text(Path(out_dir) / name, page)


def _esc(value: Any) -> str:
    """HTML-escaped display text: floats to 4 decimals, containers as JSON, None as empty."""
    if value is None:
        text = ""
    elif isinstance(value, float):
        text = f"{value:.4f}" if math.isfinite(value) else str(value)
    elif isinstance(value, (Mapping, list, tuple)):
        text = json.dumps(_jsonable(value), ensure_ascii=False)
    else:
        text = str(value)
    return html.escape(text)


def _table(caption: str, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    head = "".join(f"<th>{_esc(h)}</th>" for h in headers)
    body = "\n".join("<tr>" + "".join(f"<td>{_esc(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table>\n<caption>{_esc(caption)}</caption>\n<tr>{head}</tr>\n{body}\n</table>"


def _figure(figure: Figure) -> str:
    data = base64.b64encode(figure.png).decode("ascii")
    caption = _esc(figure.caption)
    return (
        f'<figure><img alt="{caption}" src="data:image/png;base64,{data}"><figcaption>{caption}</figcaption></figure>'
    )


# --------------------------------------------------------------------------------------------------------
# Plots
# --------------------------------------------------------------------------------------------------------


def _new_axes(width: float = 7.0, height: float = 4.0) -> tuple[matplotlib.figure.Figure, Any]:
    # Imported here so that writing results.json never pays matplotlib's import time.
    from matplotlib.figure import Figure as MplFigure

    fig = MplFigure(figsize=(width, height))
    return fig, fig.add_subplot()


def bar_plot(labels: Sequence[str], values: Sequence[float], title: str, ylabel: str) -> Figure:
    """One bar per label (e.g. error rate per clip id), labels written vertically under the bars."""
    # Widen with the number of bars so that long clip ids stay readable.
    fig, ax = _new_axes(width=max(6.0, 0.35 * len(labels)))
    positions = range(len(labels))
    ax.bar(positions, values, color="#4878a8")
    ax.set_xticks(positions, labels, rotation=90, fontsize=8)
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    ax.grid(axis="y", alpha=0.3)
    return Figure.from_matplotlib(title, fig)


def scatter_plot(x: Sequence[float], y: Sequence[float], title: str, xlabel: str, ylabel: str) -> Figure:
    """Points ``(x[i], y[i])`` (e.g. error rate against duration or real-time factor)."""
    fig, ax = _new_axes()
    ax.scatter(x, y, color="#4878a8", alpha=0.8)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    return Figure.from_matplotlib(title, fig)


def line_plot(x: Sequence[float], series: dict[str, Sequence[float]], title: str, xlabel: str, ylabel: str) -> Figure:
    """One line per named series over the same ``x`` (e.g. memory over the minutes of a stream)."""
    fig, ax = _new_axes()
    for name, y in series.items():
        ax.plot(x, y, marker=".", label=name)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    if len(series) > 1:
        ax.legend()
    return Figure.from_matplotlib(title, fig)


def timeline_plot(rows: dict[str, Sequence[tuple[float, float, str]]], title: str, xlabel: str = "time (s)") -> Figure:
    """Horizontal bars per row (e.g. "reference" and "hypothesis"), one colour per label, as in a diarization
    timeline: each item is ``(start, end, label)``."""
    fig, ax = _new_axes(width=9.0, height=0.6 + 0.5 * len(rows))
    from matplotlib import colormaps

    labels = sorted({label for items in rows.values() for _, _, label in items})
    colours = colormaps["tab10"]
    for y, items in enumerate(rows.values()):
        for start, end, label in items:
            ax.broken_barh([(start, end - start)], (y - 0.35, 0.7), color=colours(labels.index(label) % 10), alpha=0.8)
    ax.set_yticks(range(len(rows)), list(rows))
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.grid(axis="x", alpha=0.3)
    return Figure.from_matplotlib(title, fig)


def histogram_plot(values: Sequence[float], title: str, xlabel: str, bins: Sequence[float] | int = 10) -> Figure:
    """The distribution of ``values`` (e.g. a class's exam scores)."""
    fig, ax = _new_axes()
    ax.hist(values, bins=bins, color="#4878a8", edgecolor="white")
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("count")
    ax.grid(axis="y", alpha=0.3)
    return Figure.from_matplotlib(title, fig)
