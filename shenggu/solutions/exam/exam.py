"""An exam as a teacher writes it: reading items with their language and weight, in a JSON file.

{"id": "g7-unit3", "title": "七年级口语测试",
 "items": [{"id": "read1", "language": "en", "text": "I like reading books.", "weight": 2},
           {"id": "read2", "language": "zh", "text": "今天天气很好。", "weight": 1, "title": "朗读"}]}
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from shenggu.assess.registry import LANGUAGES
from shenggu.errors import InvalidOptionError

_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")
MAX_ITEMS = 100
MAX_TEXT_CHARS = 2000


@dataclass(frozen=True)
class ExamItem:
    """One reading task: the text to read, its language and its weight in the exam total."""

    id: str
    language: str
    text: str
    weight: float = 1.0
    title: str = ""


@dataclass(frozen=True)
class Exam:
    """An exam: its items in order."""

    id: str
    title: str
    items: tuple[ExamItem, ...]

    @property
    def total_weight(self) -> float:
        return sum(item.weight for item in self.items)


def load_exam(path: str | Path) -> Exam:
    """Read and check an exam file (``InvalidOptionError`` naming the problem)."""
    source = Path(path)
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidOptionError(f"exam file not found: {source}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidOptionError(f"cannot read exam file {source}: {exc}") from None
    return parse_exam(data)


def parse_exam(data: object) -> Exam:
    """An exam from its JSON form, checked: ids, languages, texts, weights, no duplicate item ids."""
    if not isinstance(data, dict) or not isinstance(data.get("items"), list) or not data["items"]:
        raise InvalidOptionError("an exam is an object with a non-empty list 'items'")
    if len(data["items"]) > MAX_ITEMS:
        raise InvalidOptionError(f"an exam has at most {MAX_ITEMS} items")
    items = tuple(_item(raw, i) for i, raw in enumerate(data["items"], 1))
    ids = [item.id for item in items]
    if len(set(ids)) != len(ids):
        raise InvalidOptionError("exam item ids must be unique")
    exam_id = str(data.get("id", "exam"))
    if not _ID.fullmatch(exam_id):
        raise InvalidOptionError(f"exam id '{exam_id[:70]}' must be 1-64 of A-Z a-z 0-9 _ . -")
    return Exam(exam_id, str(data.get("title", exam_id)), items)


def _item(raw: object, number: int) -> ExamItem:
    if not isinstance(raw, dict):
        raise InvalidOptionError(f"exam item {number} must be an object")
    item_id, language, text = str(raw.get("id", "")), str(raw.get("language", "")), str(raw.get("text", "")).strip()
    if not _ID.fullmatch(item_id):
        raise InvalidOptionError(f"exam item {number}: id '{item_id[:70]}' must be 1-64 of A-Z a-z 0-9 _ . -")
    if language not in LANGUAGES:
        raise InvalidOptionError(f"exam item {item_id}: language must be one of {', '.join(LANGUAGES)}")
    if not text or len(text) > MAX_TEXT_CHARS:
        raise InvalidOptionError(f"exam item {item_id}: text must have 1-{MAX_TEXT_CHARS} characters")
    try:
        weight = float(raw.get("weight", 1.0))
    except (TypeError, ValueError):
        raise InvalidOptionError(f"exam item {item_id}: weight must be a number") from None
    if not 0 < weight <= 1000:
        raise InvalidOptionError(f"exam item {item_id}: weight must be above 0 and at most 1000")
    return ExamItem(item_id, language, text, weight, str(raw.get("title", "")))
