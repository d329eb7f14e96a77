"""CSV/TSV cells that no spreadsheet runs as a formula (OWASP's CSV injection advice).

A cell starting with ``= + - @``, a tab or a carriage return, also behind apostrophes an earlier export added,
gets one more leading apostrophe; :func:`unneutralized` removes exactly that one, so export → import is exact.
"""

from __future__ import annotations

import re

_FORMULA_LIKE = re.compile(r"'*[=+\-@\t\r]")
_NEUTRALIZED = re.compile(r"'+[=+\-@\t\r]")


def neutralized(cell: str) -> str:
    """``cell`` as a spreadsheet shows it as text."""
    return "'" + cell if _FORMULA_LIKE.match(cell) else cell


def unneutralized(cell: str) -> str:
    """The cell :func:`neutralized` was given."""
    return cell[1:] if _NEUTRALIZED.match(cell) else cell
