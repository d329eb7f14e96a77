"""Small Chinese text helpers shared by ASR, TTS and the text tools."""

from __future__ import annotations

import threading
import unicodedata

_converter = None
_lock = threading.Lock()


def to_simplified(text: str) -> str:
    """Traditional → simplified characters (OpenCC t2s); Whisper mixes both in Mandarin output."""
    global _converter
    if _converter is None:
        with _lock:
            if _converter is None:
                import opencc

                _converter = opencc.OpenCC("t2s")
    return _converter.convert(text)


def is_cjk(char: str) -> bool:
    """Whether ``char`` is a CJK ideograph."""
    return "\u4e00" <= char <= "\u9fff" or "\u3400" <= char <= "\u4dbf"


def is_punctuation(char: str) -> bool:
    """Whether ``char`` is punctuation in any script."""
    return unicodedata.category(char).startswith("P")
