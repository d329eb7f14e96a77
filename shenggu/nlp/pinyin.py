"""Pinyin of Chinese text, polyphones read by word (the same jieba words TTS reads with).

    to_pinyin("银行行走", "marks")   → yín háng xíng zǒu
    to_pinyin("银行行走", "numbers") → yin2 hang2 xing2 zou3
    to_pinyin("银行行走", "none")    → yin hang xing zou

jieba cuts the text into words and pypinyin's phrase dictionary reads each word, so a polyphone gets the
reading its word gives it (银行 háng, 行走 xíng, 重庆 chóng, 长大 zhǎng). A polyphone that is a word on its own
gets pypinyin's most common reading, which can be wrong (还 is read hái in 还钱; 很长 is read hěn zhǎng).
ü is written ü in every style (lǜ, lü4, lü); the neutral tone is 5 in "numbers" style (de5). Characters that
are not Chinese (Latin words, digits, punctuation) are kept as they are: normalize digits first (``tn``) if
they should be read.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from shenggu.text.pinyin import word_syllables


@dataclass(frozen=True)
class PinyinWord:
    """One word of the text and its syllables (empty for a word with no Chinese character)."""

    word: str
    pinyin: list[str]

    def to_dict(self) -> dict:
        """JSON form."""
        return {"word": self.word, "pinyin": self.pinyin}


@dataclass(frozen=True)
class PinyinResult:
    """The words with their syllables, and the whole text as one line of pinyin."""

    style: str
    words: list[PinyinWord]

    @property
    def text(self) -> str:
        """Syllables separated by spaces, punctuation attached to the word before it, other words as written."""
        out, glue = "", True
        for w in self.words:
            part = " ".join(w.pinyin) if w.pinyin else w.word.strip()
            kinds = {unicodedata.category(c) for c in part} if not w.pinyin else set()
            opening = bool(kinds) and kinds <= {"Ps", "Pi"}
            closing = bool(kinds) and not opening and all(k.startswith("P") for k in kinds)
            out += part if glue or closing else f" {part}"
            glue = opening
        return out

    def to_dict(self) -> dict:
        """JSON form for the API and ``--format json``."""
        return {"style": self.style, "text": self.text, "words": [w.to_dict() for w in self.words]}


def to_pinyin(text: str, style: str = "marks") -> PinyinResult:
    """Pinyin of each jieba word of ``text``; ``style`` is "marks" (tone marks), "numbers" (tone numbers after
    each syllable) or "none" (no tones). Raises :class:`~shenggu.errors.InvalidOptionError` for another style."""
    words = [PinyinWord(w, syllables) for w, syllables in word_syllables(text, style, umlaut=True) if w.strip()]
    return PinyinResult(style, words)


__all__ = ["PinyinResult", "PinyinWord", "to_pinyin"]
