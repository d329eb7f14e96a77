"""The clause normalizer: written → spoken form of one clause of Mandarin or English text.

Full-width digits and signs are folded to ASCII, the clause goes through its language's pre-passes and wetext
(:mod:`shenggu.tts.normalize_zh`, :mod:`shenggu.tts.normalize_en`), and any digit still left (wetext failed,
or a shape it does not know) is read digit by digit, so no digit ever reaches a voice.
"""

from __future__ import annotations

import re

from shenggu.text.numbers_en import en_digits
from shenggu.text.numbers_zh import zh_digits
from shenggu.tts.normalize_en import normalize_en
from shenggu.tts.normalize_zh import normalize_zh

_FULL_WIDTH = str.maketrans("０１２３４５６７８９％＋", "0123456789%+")
_FULL_WIDTH_BETWEEN_DIGITS = re.compile(r"(?<=\d)[．：／－](?=\d)")
_HALF_WIDTH_OF = {"．": ".", "：": ":", "／": "/", "－": "-"}
_DIGIT_RUN = re.compile(r"\d+")


def _read_leftover_digits(text: str, language: str) -> str:
    """Digits the normalizer left (it failed, or a shape it does not know) are read one by one."""
    if language == "zh":
        return _DIGIT_RUN.sub(lambda m: zh_digits(m.group(0)), text)
    return _DIGIT_RUN.sub(lambda m: f" {en_digits(m.group(0))} ", text).replace("  ", " ").strip()


def normalize_clause(text: str, language: str) -> str:
    """Written → spoken form of one clause of Mandarin (``"zh"``) or English (``"en"``) text."""
    text = text.translate(_FULL_WIDTH).replace("−", "-")
    text = _FULL_WIDTH_BETWEEN_DIGITS.sub(lambda m: _HALF_WIDTH_OF[m.group(0)], text)
    text = normalize_zh(text) if language == "zh" else normalize_en(text)
    return _read_leftover_digits(text, language).strip()


__all__ = ["normalize_clause"]
