"""The reference text of a Mandarin reading: spoken form, words, characters with pinyin and expected tones, and the
texts Whisper is forced to read.

The written text goes through the TTS front-end's normalizer (2024年 → 二零二四年, 12.5元 → 十二点五元), so the
characters scored are the ones a reader says. Words are jieba's (the same cut that :func:`shenggu.text.pinyin.pinyin`
reads polyphones by). Only Chinese characters are scored; Latin words stay in the forced texts so that the
alignment keeps its place, but get no score.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from shenggu.assess.tones import spoken_tones, tone_of
from shenggu.errors import InvalidOptionError
from shenggu.lazy import once
from shenggu.text.chinese import load_jieba
from shenggu.text.pinyin import pinyin
from shenggu.text.script import HAN
from shenggu.tts.normalize import normalize_clause

# Marks that end a clause (a reader may pause there), and how Whisper-base writes them in Mandarin output.
_CLAUSE_MARKS = {"，": ",", ",": ",", "、": ",", "；": ";", ";": ";", "：": ":", ":": ":", "。": "。", ".": "。",
                 "！": "!", "!": "!", "？": "?", "?": "?", "…": "…", "\n": ","}  # fmt: skip
_CLAUSE = re.compile("([" + re.escape("".join(_CLAUSE_MARKS)) + "]+)")
_HAN_CHAR = re.compile(f"[{HAN}]")
_NOT_SPOKEN = re.compile(rf"[^{HAN}A-Za-z0-9' ]+")  # quotes, brackets, dashes: read as nothing


@dataclass(frozen=True)
class ReferenceChar:
    """One Chinese character of the reference as it should be read."""

    char: str
    pinyin: str  # tone-numbered, from the dictionary (read by word)
    tone: int  # the tone it is said in, after sandhi (5 = neutral, not scored)
    accepted: frozenset[int]  # tones counted as right: the sandhi tone, and the 3rd where 3-3 sandhi is optional
    word: int  # index of its word in ``Reference.words``
    clause_end: bool  # last character before a clause mark: a pause may follow


@dataclass(frozen=True)
class Reference:
    """A reference text prepared for assessment."""

    text: str  # as given
    words: list[str]  # words with Chinese characters, in spoken form
    chars: list[ReferenceChar]
    forced_texts: list[str]  # spoken-form variants Whisper is forced to read; each has all of ``chars``, in order


@once
def _to_traditional():
    import opencc

    return opencc.OpenCC("s2t").convert


def prepare_reference(text: str) -> Reference:
    """Normalize ``text`` and cut it into words and characters; ``InvalidOptionError`` when nothing is left to
    score (empty, or no Chinese character)."""
    parts = _CLAUSE.split(text)
    clauses: list[tuple[str, str]] = []  # (spoken text, the clause mark after it)
    for i in range(0, len(parts), 2):
        spoken = _NOT_SPOKEN.sub(" ", normalize_clause(parts[i], "zh")).strip() if parts[i].strip() else ""
        mark = _CLAUSE_MARKS[parts[i + 1][0]] if i + 1 < len(parts) else ""
        if spoken:
            # Spaces only matter between Latin words; Whisper writes Chinese without them.
            clauses.append((re.sub(rf"\s*([{HAN}])\s*", r"\1", spoken), mark))
    words: list[str] = []
    chars: list[ReferenceChar] = []
    for spoken, _mark in clauses:
        clause_words = [w for w in load_jieba().lcut(spoken) if _HAN_CHAR.search(w)]
        han_words = ["".join(_HAN_CHAR.findall(w)) for w in clause_words]
        readings = pinyin(spoken)
        tones = spoken_tones(han_words, readings)
        k = 0
        for word, han in zip(clause_words, han_words, strict=True):
            for char in han:
                dictionary = tone_of(readings[k])
                accepted = {tones[k]} | ({3} if dictionary == 3 and tones[k] == 2 else set())
                chars.append(ReferenceChar(char, readings[k], tones[k], frozenset(accepted), len(words), False))
                k += 1
            words.append(word)
        if k:
            chars[-1] = replace(chars[-1], clause_end=True)
    if not chars:
        raise InvalidOptionError("the reference text has no Chinese characters to assess")
    return Reference(text, words, chars, _forced_texts(clauses, len(chars)))


def _forced_texts(clauses: list[tuple[str, str]], n_chars: int) -> list[str]:
    """The spoken text bare and with Whisper's punctuation, each in simplified and traditional characters.

    Whisper's probability of a character also depends on its language model: it splits between 这 and 這 (the
    model writes both), and a clause start after missing punctuation reads as unlikely. Scoring each character by
    its best variant measures the sound, not the spelling."""
    bare = "".join(spoken for spoken, _ in clauses)
    punctuated = "".join(spoken + mark for spoken, mark in clauses)
    texts = [bare, punctuated]
    traditional = [_to_traditional()(t) for t in texts]
    # s2t maps character to character; a phrase conversion that changed the count would misplace the scores.
    if all(len(_HAN_CHAR.findall(t)) == n_chars for t in traditional):
        texts += traditional
    return list(dict.fromkeys(texts))  # without duplicates (no punctuation, no traditional forms)


__all__ = ["Reference", "ReferenceChar", "prepare_reference"]
