"""Text normalization both ways, with the exact code ASR and TTS run:

* ``itn`` (inverse, spoken → written): :func:`shenggu.nlp.itn.inverse_normalize`, the step that writes
  Mandarin transcripts' numbers as digits (二零二三年三月五日 → 2023年3月5日, 百分之十二点五 → 12.5%). Mandarin
  only: text without Chinese characters comes back unchanged.
* ``tn`` (written → spoken): :func:`shenggu.tts.normalize.normalize_clause`, the TTS front end's reading of
  numbers, dates, money, phone numbers and symbols (2023年3月5日 → 二零二三年三月五日, $12.50 → twelve dollars
  and fifty cents). Mandarin and English.

The text is normalized sentence by sentence (wetext is much faster on short inputs); the whitespace between
sentences and lines is kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from shenggu.errors import InvalidOptionError
from shenggu.text.script import has_han, text_language

NORMALIZE_MODES = ("itn", "tn")
LANGUAGES = ("auto", "zh", "en")
_SENTENCE = re.compile(r"[^。！？!?；;\n]*[。！？!?；;]*\n*")
_LATIN = re.compile(r"[A-Za-z]")


@dataclass(frozen=True)
class Normalized:
    """The normalized text, the direction and the language it was normalized as."""

    text: str
    mode: str
    language: str

    def to_dict(self) -> dict:
        """JSON form for the API and ``--format json``."""
        return {"text": self.text, "mode": self.mode, "language": self.language}


def _sentence_language(sentence: str, default: str) -> str:
    """As the TTS front end reads a sentence: Chinese if it has Chinese, English if it has Latin letters only."""
    if has_han(sentence):
        return "zh"
    return "en" if _LATIN.search(sentence) else default


def _tn(sentence: str, language: str) -> str:
    from shenggu.tts.normalize import normalize_clause

    core = sentence.strip()
    if not core:
        return sentence
    lead = sentence[: len(sentence) - len(sentence.lstrip())]
    trail = sentence[len(sentence.rstrip()) :]
    return lead + normalize_clause(core, language) + trail


def normalize(text: str, mode: str = "itn", language: str = "auto") -> Normalized:
    """Normalize ``text``: ``mode="itn"`` spoken → written (Mandarin), ``mode="tn"`` written → spoken.

    ``language``: "zh", "en" or "auto" (Chinese if the text has any Chinese character). With "auto", TN reads
    each sentence in its own script, as TTS does: an English sentence in a Chinese text is read in English.
    Raises :class:`~shenggu.errors.InvalidOptionError` for an unknown mode or language.
    """
    if mode not in NORMALIZE_MODES:
        raise InvalidOptionError(f"unknown normalization mode '{mode[:20]}' (choose itn or tn)")
    if language not in LANGUAGES:
        raise InvalidOptionError(f"unknown language '{language[:20]}' (choose auto, zh or en)")
    detected = language if language != "auto" else text_language(text)
    if mode == "itn":
        from shenggu.nlp.itn import inverse_normalize

        return Normalized(inverse_normalize(text, detected), mode, detected)
    pieces = [m.group(0) for m in _SENTENCE.finditer(text) if m.group(0)]
    if language == "auto":
        spoken = "".join(_tn(p, _sentence_language(p, detected)) for p in pieces)
    else:
        spoken = "".join(_tn(p, detected) for p in pieces)
    return Normalized(spoken, mode, detected)


__all__ = ["LANGUAGES", "NORMALIZE_MODES", "Normalized", "normalize"]
