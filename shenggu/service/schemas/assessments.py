"""Pronunciation assessment: ``POST /v1/assessments`` (and the result of an ``assess`` job)."""

from __future__ import annotations

from shenggu.assess.types import WordError
from shenggu.service.schemas import ResponseBody


class PhoneScore(ResponseBody):
    """One English phone (ARPAbet) as read; ``gop`` is the raw goodness of pronunciation (0 is perfect)."""

    phone: str
    start: float
    end: float
    accuracy: float
    gop: float


class SyllableScore(ResponseBody):
    """One Mandarin character as read: the tone expected and the tone heard (null: no pitch measured)."""

    character: str
    pinyin: str
    expected_tone: int
    detected_tone: int | None
    start: float
    end: float
    accuracy: float
    tone_correct: bool | None


class WordScore(ResponseBody):
    """One word of the reference (or an inserted word): English words carry ``phones``, Mandarin words
    ``syllables``."""

    word: str
    start: float | None
    end: float | None
    accuracy: float
    error: WordError
    phones: list[PhoneScore] | None = None
    syllables: list[SyllableScore] | None = None


class Assessment(ResponseBody):
    """The scores (0-100) of one reading of the reference text, and every word's."""

    language: str
    reference: str
    accuracy: float
    fluency: float
    completeness: float
    prosodic: float
    total: float
    duration: float
    words: list[WordScore]
