"""Small Chinese text helpers shared by ASR, TTS and the text tools."""

from __future__ import annotations

import unicodedata

from shenggu.lazy import once


@once
def _t2s():
    import opencc

    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Traditional → simplified characters (OpenCC t2s); Whisper mixes both in Mandarin output."""
    return _t2s().convert(text)


def is_cjk(char: str) -> bool:
    """Whether ``char`` is a CJK ideograph."""
    return "\u4e00" <= char <= "\u9fff" or "\u3400" <= char <= "\u4dbf"


def is_punctuation(char: str) -> bool:
    """Whether ``char`` is punctuation in any script."""
    return unicodedata.category(char).startswith("P")
