"""Links to the moment a finding can be heard: a recording's address with a W3C Media Fragments time
(``#t=START[,END]``, seconds), which browsers' players seek to. Who serves the recording decides the address (a
file beside the report, an API route), so reports take an :data:`AudioLink` from their caller."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from urllib.parse import quote

AudioLink = Callable[[str, float, float | None], str | None]
"""An item's name in the batch, a start and an optional end (seconds) → a link that plays the item's recording
from there; None where the item has no recording (a call JSON file)."""


def _seconds(value: float) -> str:
    """Seconds as Media Fragments write them: at most 3 decimals, no trailing zeros (5.5, 12, 0.25)."""
    return f"{max(0.0, value):.3f}".rstrip("0").rstrip(".")


def media_fragment(start: float, end: float | None = None) -> str:
    """The temporal fragment ``t=START[,END]`` (END only where it is after START: an empty span would play
    nothing)."""
    first = _seconds(start)
    last = _seconds(end) if end is not None else None
    return f"t={first},{last}" if last is not None and float(last) > float(first) else f"t={first}"


def moment_link(url: str, start: float, end: float | None = None) -> str:
    """``url`` playing from ``start`` (to ``end``, where given): ``url#t=START[,END]``."""
    return f"{url}#{media_fragment(start, end)}"


def file_link(path: Path, folder: Path) -> str:
    """A link from a page in ``folder`` to the file ``path``: a relative URL (percent-encoded, so a ``#`` or a
    space in a name stays part of it), or a ``file:`` URL where no relative path exists (another drive)."""
    target, base = os.path.abspath(path), os.path.abspath(folder)  # lexical, as a browser resolves ``..``
    try:
        relative = os.path.relpath(target, base)
    except ValueError:  # Windows: another drive
        return Path(target).as_uri()
    return quote(Path(relative).as_posix())


def file_links(recordings: Mapping[str, Path], folder: Path) -> AudioLink:
    """An :data:`AudioLink` for a report written to ``folder`` and opened from disk: each named recording's
    :func:`file_link`, playing from the finding's start on (a player keeps going past its end, so the supervisor
    hears what followed); None for items not in ``recordings``."""
    links = {name: file_link(path, folder) for name, path in recordings.items()}

    def link(name: str, start: float, end: float | None) -> str | None:
        return moment_link(links[name], start) if name in links else None

    return link
