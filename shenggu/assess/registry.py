"""The assessor for a language (its models built once per process, on first use)."""

from __future__ import annotations

from shenggu.assess.types import Assessor
from shenggu.config import Settings
from shenggu.errors import InvalidOptionError

LANGUAGES = ("en", "zh")


def get_assessor(language: str, settings: Settings) -> Assessor:
    """The pronunciation assessor of ``language`` ("en": GOP on pocketsphinx; "zh": Whisper alignment + tones, on
    the Whisper engine the settings configure)."""
    if language == "en":
        from shenggu.assess.english import get_english_assessor

        return get_english_assessor()
    if language == "zh":
        from shenggu.assess.mandarin import get_mandarin_assessor

        return get_mandarin_assessor(settings)
    raise InvalidOptionError(f"assessment language must be one of {', '.join(LANGUAGES)}, not '{language[:20]}'")
