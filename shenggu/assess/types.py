"""Typed interface of the assessment capability: scores per utterance, word, phone (English) or syllable
(Mandarin), and the ``Assessor`` protocol that engines implement.

All scores are 0–100 (higher is better). Times are seconds from the start of the audio.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal, Protocol

import numpy as np

WordError = Literal["none", "mispronunciation", "omission", "insertion"]


@dataclass
class PhoneScore:
    """One English phone (ARPAbet, stress digits removed) of a word as read."""

    phone: str
    start: float
    end: float
    accuracy: float
    gop: float  # raw goodness of pronunciation (log-likelihood ratio per frame; 0 is perfect, lower is worse)


@dataclass
class SyllableScore:
    """One Mandarin character as read: its pinyin, the tone expected and the tone heard."""

    character: str
    pinyin: str  # tone-numbered, e.g. "zhong1"
    expected_tone: int  # 1-4, 5 = neutral
    detected_tone: int | None  # None when no pitch could be measured (unvoiced, too short)
    start: float
    end: float
    accuracy: float
    tone_correct: bool | None


@dataclass
class WordScore:
    """One word of the reference text (or an inserted word) and how it was read."""

    word: str
    start: float | None
    end: float | None
    accuracy: float
    error: WordError = "none"
    phones: list[PhoneScore] = field(default_factory=list)
    syllables: list[SyllableScore] = field(default_factory=list)


@dataclass
class Assessment:
    """The scores of one reading of a reference text."""

    language: str
    reference: str
    accuracy: float
    fluency: float
    completeness: float
    prosodic: float
    total: float
    duration: float
    words: list[WordScore] = field(default_factory=list)

    def to_dict(self) -> dict:
        """The public JSON shape (scores rounded to 0.1, times to ms); English words carry ``phones``, Mandarin
        words ``syllables``."""
        out = asdict(self)
        for key in ("accuracy", "fluency", "completeness", "prosodic", "total"):
            out[key] = round(out[key], 1)
        out["duration"] = round(self.duration, 3)
        for word in out["words"]:
            _round_times(word)
            word["accuracy"] = round(word["accuracy"], 1)
            if self.language == "zh":
                del word["phones"]
            else:
                del word["syllables"]
            for part in word.get("phones", []) + word.get("syllables", []):
                _round_times(part)
                part["accuracy"] = round(part["accuracy"], 1)
                if "gop" in part:
                    part["gop"] = round(part["gop"], 3)
        return out


def _round_times(item: dict) -> None:
    for key in ("start", "end"):
        if item.get(key) is not None:
            item[key] = round(item[key], 3)


class Assessor(Protocol):
    """Scores a reading of ``reference`` (16 kHz mono float32 ``samples``) in the assessor's language."""

    language: str

    def assess(self, samples: np.ndarray, reference: str) -> Assessment:
        """Score one reading; raises ``InvalidOptionError`` for an empty or unusable reference text and
        ``SilentAudioError`` when there is no speech."""
        ...
