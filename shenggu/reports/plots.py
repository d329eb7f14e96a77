"""Figures for reports, rendered to PNG: bars, scatter, lines, timelines and histograms.

Plots use matplotlib's object-oriented API with the Agg canvas, never pyplot, so no global backend or figure
state is touched and nothing needs a display. Any matplotlib figure can be embedded through
``Figure.from_matplotlib``. The default font has no CJK glyphs: label plots with ASCII (clip ids).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import matplotlib.figure


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


def histogram_plot(
    values: Sequence[float], title: str, xlabel: str, bins: Sequence[float] | int = 10, ylabel: str = "count"
) -> Figure:
    """The distribution of ``values`` (e.g. a class's exam scores, or request latencies)."""
    fig, ax = _new_axes()
    ax.hist(values, bins=bins, color="#4878a8", edgecolor="white")
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(axis="y", alpha=0.3)
    return Figure.from_matplotlib(title, fig)
