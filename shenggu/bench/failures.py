"""One bad clip never stops a benchmark: its failure is recorded as a row and the run goes on.

Every benchmark runs its clips through :func:`attempt`; the failed rows go into ``results.json`` under
``failures`` and the summary says how many (``failed``), so a number is never computed silently over fewer clips.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from shenggu.errors import ShengguError, error_info
from shenggu.logs import get_logger

T = TypeVar("T")
log = get_logger("shenggu.bench")


def attempt(clip_id: str, work: Callable[[], T], failures: list[dict]) -> T | None:
    """``work()``, or ``None`` after appending ``{"id", "error": {"code", "message"}}`` to ``failures``.

    A :class:`ShengguError` keeps its code (``no_speech``, ``corrupt_audio``…); any other exception is
    ``internal_error`` with its type and first line, and is logged with its traceback.
    """
    try:
        return work()
    except Exception as exc:  # one broken clip must not end the run
        if not isinstance(exc, ShengguError):
            log.exception("benchmark clip failed", clip=clip_id)
        code, message = error_info(exc)
    failures.append({"id": clip_id, "error": {"code": code, "message": message}})
    return None


def failure_table(failures: list[dict]) -> list[list[str]]:
    """The rows of a report's "failed clips" table: id, error code, message."""
    return [[f["id"], f["error"]["code"], f["error"]["message"]] for f in failures]
