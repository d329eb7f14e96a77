"""wetext's text normalization (TN, written → spoken), loaded once, serialized, and never raising.

wetext (0.1.8) runs WFST grammars (kaldifst) for Mandarin and English; its FSTs load lazily on first use
(~0.3 s), once per process, thread-safe. Its tagger asserts on some inputs: a clause it fails on is retried word
by word, and a failure never reaches the caller (a warning is logged on ``shenggu.tts.frontend``, the
front-end's logger). When wetext cannot load at all, text comes back as it was and the caller reads leftover
digits one by one. What wetext reads wrongly is worked around before it, in :mod:`shenggu.tts.normalize_zh` and
:mod:`shenggu.tts.normalize_en`.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable

from shenggu.lazy import once

logger = logging.getLogger("shenggu.tts.frontend")

_ESCAPED = re.compile(r"\\(.)", re.DOTALL)
# A multiplication sign between two numbers (7×24, 3 x 4), which both normalizers read themselves (乘, "times").
TIMES_SIGN = re.compile(r"(?<=\d)\s*[×xX*]\s*(?=\d)")


@once
def _wetext() -> Callable[[str, str], str] | None:
    """wetext's TN normalizers (its FSTs load at import, ~0.3 s); ``None``, logged, when they cannot load."""
    try:
        from wetext import Normalizer

        normalizers = {lang: Normalizer(lang=lang, operator="tn") for lang in ("zh", "en")}
    except Exception as error:  # TTS must still speak: leftover digits are then read one by one
        logger.warning("wetext unavailable, numbers are read digit by digit: %s", error, exc_info=True)
        return None
    lock = threading.Lock()  # kaldifst's C++ search is not documented as thread-safe

    def normalize(text: str, language: str) -> str:
        with lock:
            return normalizers[language].normalize(text)

    return normalize


def wetext_normalize(text: str, language: str) -> str:
    """wetext's TN of one clause; the text as it was (logged) when wetext fails on it."""
    normalize = _wetext()
    if normalize is None:
        return text
    try:
        spoken = normalize(text, language)
    except Exception as error:  # the tagger asserts on some inputs (English "+1 555 123 4567", "#1")
        logger.warning("wetext failed on %r, read word by word: %s", text[:80], error)
        parts = []
        for word in text.split(" "):
            try:
                parts.append(normalize(word, language) if word else word)
            except Exception:
                parts.append(word)
        spoken = " ".join(parts)
    return _ESCAPED.sub(r"\1", spoken)  # the tagger escapes " and \ inside its fields


__all__ = ["wetext_normalize"]
