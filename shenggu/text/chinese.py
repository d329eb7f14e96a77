"""Chinese resources loaded once per process: OpenCC's traditional → simplified conversion and jieba's words.

ASR output, FAQ matching and scoring simplify characters the same way, and segmentation, pinyin, Kokoro phonemes,
ITN guards and the word LM cut Mandarin into the same words; each resource loads lazily, once, thread-safe.
"""

from __future__ import annotations

from types import ModuleType

from shenggu.lazy import once


@once
def _t2s():
    import opencc

    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Traditional → simplified characters (OpenCC t2s); Whisper mixes both in Mandarin output."""
    return _t2s().convert(text)


@once
def load_jieba() -> ModuleType:
    """jieba with its dictionary loaded (~0.6 s, once)."""
    import jieba

    jieba.setLogLevel(60)
    jieba.dt.initialize()
    return jieba


__all__ = ["load_jieba", "to_simplified"]
