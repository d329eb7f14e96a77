"""Chinese resources loaded once per process: OpenCC's traditional → simplified conversion and jieba's words.

ASR output, FAQ matching and scoring simplify characters the same way, and segmentation, pinyin, Kokoro phonemes,
ITN guards and the word LM cut Mandarin into the same words; each resource loads lazily, once, thread-safe.
"""

from __future__ import annotations

import re
from types import ModuleType

from shenggu.lazy import once

# OpenCC t2s keeps 著 because it is also a simplified character, but simplified Chinese writes it only for zhù
# ("to write; marked": 著名, 显著); everywhere else (the particle of 看著, and 著急, 著陆, 执著) it is 着.
_ZHU_WORDS = (
    "著名", "著作", "著称", "著述", "著录", "著书", "著者", "著文", "著说", "显著", "名著", "土著", "原著", "巨著",
    "专著", "编著", "译著", "论著", "遗著", "拙著", "合著", "昭著", "卓著", "新著", "撰著", "杰著", "大著",
)  # fmt: skip
_ZHE = re.compile("|".join(_ZHU_WORDS) + "|著")


@once
def _t2s():
    import opencc

    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Traditional → simplified characters (OpenCC t2s, and 著 → 着 outside the words that keep 著); Whisper
    mixes both scripts in Mandarin output."""
    simplified = _t2s().convert(text)
    if "著" not in simplified:
        return simplified
    return _ZHE.sub(lambda m: m.group() if len(m.group()) > 1 else "着", simplified)


@once
def load_jieba() -> ModuleType:
    """jieba with its dictionary loaded (~0.6 s, once)."""
    import jieba

    jieba.setLogLevel(60)
    jieba.dt.initialize()
    return jieba


__all__ = ["load_jieba", "to_simplified"]
