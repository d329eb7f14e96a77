"""``report.html``: one self-contained page (summary table, ready HTML blocks, embedded PNG figures, tables)."""

from __future__ import annotations

import base64
import html
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from shenggu.reports.plots import Figure
from shenggu.reports.results import jsonable, write_text_atomically

REPORT_NAME = "report.html"

Table = tuple[str, Sequence[str], Sequence[Sequence[Any]]]
"""``(caption, headers, rows)`` of one HTML table."""

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
    return write_text_atomically(Path(out_dir) / name, page)


def _esc(value: Any) -> str:
    """HTML-escaped display text: floats to 4 decimals, containers as JSON, None as empty."""
    if value is None:
        text = ""
    elif isinstance(value, float):
        text = f"{value:.4f}" if math.isfinite(value) else str(value)
    elif isinstance(value, (Mapping, list, tuple)):
        text = json.dumps(jsonable(value), ensure_ascii=False)
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
