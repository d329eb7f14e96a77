"""Machine translation: ``POST /v1/translations``."""

from __future__ import annotations

from typing import Literal

from shenggu.service.schemas import ResponseBody


class TranslatedSentence(ResponseBody):
    """One sentence: the source, the machine draft, and what its self-checks found (``problems``) after
    ``attempts`` tries by ``engine``."""

    source: str
    text: str
    needs_review: bool
    problems: list[str]
    attempts: int
    engine: str


class Translation(ResponseBody):
    """The translation, whole and sentence by sentence; ``needs_review`` when any sentence failed a check."""

    direction: str
    text: str
    machine_translated: Literal[True]
    needs_review: bool
    sentences: list[TranslatedSentence]
