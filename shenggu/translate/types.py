"""Typed interface of the translation capability: directions, per-sentence results with their checks, and the
``Translator`` protocol that engines (the local LLM, an operator's MT model) implement."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

Direction = Literal["zh-en", "en-zh"]
DIRECTIONS: tuple[Direction, ...] = ("zh-en", "en-zh")


@dataclass
class SentenceTranslation:
    """One source sentence and its translation. ``needs_review`` when a self-check still failed after the retry
    (``problems`` say what); every sentence is a machine draft (``engine`` says whose)."""

    source: str
    text: str
    needs_review: bool = False
    problems: list[str] = field(default_factory=list)
    attempts: int = 1
    engine: str = ""


@dataclass
class Translation:
    """A whole text translated sentence by sentence."""

    direction: Direction
    sentences: list[SentenceTranslation]

    @property
    def text(self) -> str:
        joiner = "" if self.direction.endswith("zh") else " "
        return joiner.join(s.text for s in self.sentences if s.text)

    @property
    def needs_review(self) -> bool:
        return any(s.needs_review for s in self.sentences)

    def to_dict(self) -> dict:
        """The public JSON shape."""
        return {
            "direction": self.direction,
            "text": self.text,
            "machine_translated": True,
            "needs_review": self.needs_review,
            "sentences": [
                {
                    "source": s.source,
                    "text": s.text,
                    "needs_review": s.needs_review,
                    "problems": s.problems,
                    "attempts": s.attempts,
                    "engine": s.engine,
                }
                for s in self.sentences
            ],
        }


class Translator(Protocol):
    """Drafts translations sentence by sentence; a hint (from a failed self-check) asks for a correction."""

    name: str

    def draft(
        self,
        sentences: Sequence[str],
        direction: Direction,
        glossary: Mapping[str, str],
        tenant: str,
        hints: Sequence[str] | None = None,
    ) -> list[str]:
        """One translation per sentence, in order (``hints[i]`` non-empty: retry sentence ``i`` with it)."""
        ...
