"""Writing systems: which characters are Chinese, which are punctuation, and which language a text is in.

Sentence splitting, piece cutting, pinyin, ASR clean-up, homophone correction, pronunciation references and FAQ
matching all need to tell Chinese from other text the same way, so the Han character class lives here once.
"""

from __future__ import annotations

import re
import unicodedata

# CJK ideographs: extension A, the unified block, the compatibility ideographs, and planes 2 and 3, which Unicode
# reserves for ideographs (extensions B to I and the compatibility supplement; OpenCC and pypinyin know some).
# Radicals, strokes and 〇 are in other blocks and are not characters jieba or pypinyin read as words.
HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003ffff"
HAN_RUN = re.compile(f"[{HAN}]+")


def is_han(char: str) -> bool:
    """Whether ``char`` (one character) is a Chinese character."""
    return HAN_RUN.fullmatch(char) is not None


def has_han(text: str) -> bool:
    """Whether ``text`` has a Chinese character."""
    return HAN_RUN.search(text) is not None


def text_language(text: str) -> str:
    """``zh`` when ``text`` has a Chinese character, else ``en`` (the two languages shenggu handles)."""
    return "zh" if has_han(text) else "en"


def is_punctuation(char: str) -> bool:
    """Whether ``char`` is punctuation in any script."""
    return unicodedata.category(char).startswith("P")


__all__ = ["HAN", "HAN_RUN", "has_han", "is_han", "is_punctuation", "text_language"]
