"""Writing systems shared by the front-end modules: the Han character class and jieba's Mandarin words.

Sentence splitting, piece cutting, pinyin and Kokoro phonemes all need to tell Chinese from other text and to
cut Mandarin into words the same way, so both live here once. jieba's dictionary loads lazily, once per process.
"""

from __future__ import annotations

import re
from types import ModuleType

from shenggu.lazy import once

HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # CJK ideographs (extension A, unified, compatibility)
_HAN_CHAR = re.compile(f"[{HAN}]")


def has_han(text: str) -> bool:
    """Whether ``text`` has a Chinese character."""
    return _HAN_CHAR.search(text) is not None


def text_language(text: str) -> str:
    """``zh`` when ``text`` has a Chinese character, else ``en`` (the two languages shenggu handles)."""
    return "zh" if has_han(text) else "en"


@once
def load_jieba() -> ModuleType:
    """jieba with its dictionary loaded (~0.6 s, once)."""
    import jieba

    jieba.setLogLevel(60)
    jieba.dt.initialize()
    return jieba


__all__ = ["HAN", "has_han", "load_jieba", "text_language"]
