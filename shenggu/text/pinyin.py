"""Pinyin from pypinyin, its options chosen in one place: tone style, ü, the neutral tone, unreadable characters.

pypinyin's phrase dictionary reads a polyphone by the characters around it. :func:`word_syllables` hands it
jieba's words, the same cut misaki (so Kokoro) reads with, so a polyphone gets the reading its word gives it
(银行 yin2 hang2, 行走 xing2 zou3, 重庆 chong2 qing4, 长大 zhang3 da4); a polyphone that is a word on its own gets
pypinyin's most common reading, which can be wrong (还 is read hái in 还钱). Written numbers are not read:
normalize them first. pypinyin imports on first use.

Styles: "marks" (yín háng), "numbers" (yin2 hang2, the neutral tone 5: de5), "none" (yin hang). ü is written v
(lv4) unless ``umlaut`` asks for ü (lǜ, lü4, lü).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from typing import Literal

from shenggu.errors import InvalidOptionError
from shenggu.text.chinese import load_jieba
from shenggu.text.script import HAN_RUN

PINYIN_STYLES = ("marks", "numbers", "none")
_PYPINYIN_STYLES = {"marks": "TONE", "numbers": "TONE3", "none": "NORMAL"}
# What becomes of characters pypinyin has no reading for: each kept as its own item, runs of them kept as one
# item (pypinyin's default), or dropped.
Unreadable = Literal["each", "run", "drop"]
_TONE_MARKS = {"\u0304": "1", "\u0301": "2", "\u030c": "3", "\u0300": "4"}


def _style(style: str):
    from pypinyin import Style

    try:
        return getattr(Style, _PYPINYIN_STYLES[style])
    except KeyError:
        raise InvalidOptionError(f"unknown pinyin style '{style[:20]}' (choose {', '.join(PINYIN_STYLES)})") from None


def syllables(text: str, style: str = "numbers", *, umlaut: bool = False, unreadable: Unreadable = "each") -> list[str]:
    """One syllable per Chinese character of ``text`` in ``style`` (polyphones read by the characters around
    them); other characters as ``unreadable`` says. Raises :class:`~shenggu.errors.InvalidOptionError` for an
    unknown style."""
    from pypinyin import lazy_pinyin

    errors = {"each": lambda chars: list(chars), "run": "default", "drop": "ignore"}[unreadable]
    return lazy_pinyin(
        text, style=_style(style), v_to_u=umlaut, neutral_tone_with_five=style == "numbers", errors=errors
    )


def word_syllables(text: str, style: str = "numbers", *, umlaut: bool = False) -> list[tuple[str, list[str]]]:
    """jieba's words of ``text``, each with the syllables of its Chinese characters (none for a word without
    one). Raises :class:`~shenggu.errors.InvalidOptionError` for an unknown style, even for empty text."""
    _style(style)
    return [
        (word, [s for run in HAN_RUN.findall(word) for s in syllables(run, style, umlaut=umlaut)])
        for word in load_jieba().lcut(text)
    ]


def pinyin(text: str) -> list[str]:
    """Tone-numbered pinyin (neutral tone 5, ü as v) of each Chinese character in ``text``, polyphones read by
    word, other characters skipped."""
    return [s for _, word in word_syllables(text) for s in word]


def _numbered(reading: str) -> str:
    """'lǜ' → 'lv4': toneless syllable followed by its tone digit (5 for the neutral tone)."""
    tone, letters = "5", []
    for c in unicodedata.normalize("NFD", reading):
        if c in _TONE_MARKS:
            tone = _TONE_MARKS[c]
        elif c == "\u0308":  # the diaeresis of ü
            letters[-1] = "v"
        else:
            letters.append(c)
    return "".join(letters) + tone


def dictionary_readings() -> Iterator[tuple[str, list[str]]]:
    """Every character of pypinyin's dictionary with all its readings (heteronyms too), tone-numbered with ü as
    v: ('为', ['wei4', 'wei2'])."""
    from pypinyin.pinyin_dict import pinyin_dict

    for code, value in pinyin_dict.items():
        yield chr(code), [_numbered(r) for r in value.split(",")]


__all__ = ["PINYIN_STYLES", "dictionary_readings", "pinyin", "syllables", "word_syllables"]
