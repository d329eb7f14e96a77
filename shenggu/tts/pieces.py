"""What the front-end hands to an engine: :class:`TextPiece`, one short run of spoken-form text.

Its own module so that the planner (:mod:`shenggu.tts.frontend`), the phonemizer (:mod:`shenggu.tts.phonemes`)
and the engines can share the type without importing one another.
"""

from __future__ import annotations

from dataclasses import dataclass

LANGUAGES = ("zh", "en")  # the languages a piece can be read in


@dataclass(frozen=True)
class TextPiece:
    """One unit of synthesis, in spoken form.

    ``text`` is empty only for a ``<break>`` before any text: a piece of pure silence.
    """

    text: str  # normalized spoken text (numbers etc. already expanded)
    language: str  # "zh" or "en"
    rate: float = 1.0  # speed multiplier from <prosody rate>
    pause_after_ms: int = 0  # silence after this piece (sentence gaps, <break time>)


__all__ = ["LANGUAGES", "TextPiece"]
