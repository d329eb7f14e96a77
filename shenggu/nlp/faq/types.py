"""Typed knowledge-base entries shared by the file formats, the store and the retriever."""

from __future__ import annotations

from dataclasses import dataclass, field

LANGUAGES = ("zh", "en")


@dataclass
class EntryText:
    """One language version of an entry: the canonical question, other ways people ask it, and the answer
    (empty when the base is for retrieval only)."""

    question: str
    alternatives: list[str] = field(default_factory=list)
    answer: str = ""


@dataclass
class KbEntry:
    """A knowledge-base entry: a stable id, a category, and its text in one or more languages (``zh``, ``en``)."""

    id: str
    texts: dict[str, EntryText]
    category: str = ""

    def to_dict(self) -> dict:
        """The public JSON shape (also how entries are stored)."""
        return {
            "id": self.id,
            "category": self.category,
            "texts": {
                lang: {"question": t.question, "alternatives": list(t.alternatives), "answer": t.answer}
                for lang, t in self.texts.items()
            },
        }

    @classmethod
    def from_dict(cls, data: dict) -> KbEntry:
        """The inverse of ``to_dict``."""
        return cls(
            id=data["id"],
            category=data.get("category", ""),
            texts={
                lang: EntryText(t["question"], list(t.get("alternatives", [])), t.get("answer", ""))
                for lang, t in data["texts"].items()
            },
        )


@dataclass
class KnowledgeBase:
    """A whole base: its entries, in order."""

    entries: list[KbEntry]

    def by_id(self) -> dict[str, KbEntry]:
        """Entries keyed by id."""
        return {e.id: e for e in self.entries}
