"""CSV files that spreadsheet programs open safely: UTF-8 with a byte-order mark (so Excel reads Chinese as
UTF-8), and every text cell neutralized against formula injection (:func:`shenggu.text.spreadsheet.neutralized`:
a transcript saying ``=HYPERLINK(...)`` stays text). Numbers stay numbers, so ``-0.5`` is not touched."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from shenggu.reports.results import write_text_atomically
from shenggu.text.spreadsheet import neutralized

BOM = "\ufeff"


def spreadsheet_cell(value: Any) -> str:
    """One cell's text: None and NaN empty, numbers as written, anything else as neutralized text."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return neutralized(str(value))


def spreadsheet_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """The CSV text (BOM first, CRLF line ends as RFC 4180 and Excel write them) of ``header`` and ``rows``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([spreadsheet_cell(h) for h in header])
    writer.writerows([spreadsheet_cell(cell) for cell in row] for row in rows)
    return BOM + buffer.getvalue()


def write_spreadsheet_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Path:
    """Write :func:`spreadsheet_csv` to ``path`` atomically; returns ``path``."""
    return write_text_atomically(Path(path), spreadsheet_csv(header, rows))
