"""Printing a stream's events for people: partials as they change, finals as ``[start-end] text``, warnings
as ``! message``."""

from __future__ import annotations

import shutil
import sys
from typing import TextIO

from shenggu.client.stream import (
    DoneMessage,
    ErrorMessage,
    Event,
    FinalMessage,
    PartialMessage,
    WarningMessage,
    is_wide,
)

_CLEAR_LINE = "\r\x1b[K"


class ConsolePrinter:
    """An ``on_event`` callback that writes events to ``out``.

    On a terminal the open sentence's partial text keeps overwriting one line (its tail, so it never wraps);
    elsewhere (pipes, files) each partial is a line of its own, prefixed ``~ ``. Finals are always lines.
    """

    def __init__(self, out: TextIO | None = None, tty: bool | None = None) -> None:
        self.out = out or sys.stdout
        self.tty = self.out.isatty() if tty is None else tty
        self._partial_shown = False

    def __call__(self, event: Event) -> None:
        """Print one event (errors are left to the caller, which reports them once)."""
        if isinstance(event, PartialMessage):
            self._partial(event.text)
        elif isinstance(event, FinalMessage):
            self._line(f"[{event.start:.2f}-{event.end:.2f}] {event.text.strip()}")
        elif isinstance(event, WarningMessage):
            self._line(f"! {event.message}")
        elif isinstance(event, (DoneMessage, ErrorMessage)):
            self._clear()
        self.out.flush()

    def _partial(self, text: str) -> None:
        if not self.tty:
            self.out.write(f"~ {text.strip()}\n")
            return
        width = shutil.get_terminal_size().columns - 1
        self.out.write(_CLEAR_LINE + tail_fitting(text.strip(), width))
        self._partial_shown = True

    def _line(self, text: str) -> None:
        self._clear()
        self.out.write(text + "\n")

    def _clear(self) -> None:
        if self._partial_shown:
            self.out.write(_CLEAR_LINE)
            self._partial_shown = False


def tail_fitting(text: str, columns: int) -> str:
    """The end of ``text`` that fits in ``columns`` terminal cells (CJK characters take two), behind ``…`` when
    cut: the newest words are the ones worth seeing."""
    cells = [2 if is_wide(ch) else 1 for ch in text]
    if sum(cells) <= columns:
        return text
    used, start = 1, len(text)  # one cell for the ellipsis
    while start > 0 and used + cells[start - 1] <= columns:
        start -= 1
        used += cells[start]
    return "…" + text[start:]
