"""Scoring students' recordings of an exam, in batch.

Recordings lie one folder per student, one file per item named after the item id (any audio or video
format): ``recordings/<student>/<item id>.<ext>``. A missing or unusable recording scores 0 for its item and
says why (an error code and message), so one bad file never stops a class: an unexpected failure too is recorded
(``internal_error``, logged with its traceback) and the class goes on.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from shenggu.assess.registry import get_assessor
from shenggu.assess.types import Assessment
from shenggu.audio.decode import decode_audio
from shenggu.config import Settings
from shenggu.errors import InvalidOptionError, ShengguError, error_info
from shenggu.logs import get_logger
from shenggu.solutions.exam.exam import Exam, ExamItem

MAX_ITEM_SECONDS = 600.0
log = get_logger("shenggu.exam")


@dataclass
class ItemResult:
    """A student's score on one item: the assessment, or why there is none (score 0): ``problem`` says it in
    words, ``code`` is its stable error code (``no_recording``, ``no_speech``, ``not_audio``...)."""

    item: ExamItem
    assessment: Assessment | None
    problem: str = ""
    code: str = ""

    @property
    def total(self) -> float:
        return self.assessment.total if self.assessment else 0.0


@dataclass
class StudentResult:
    """One student's items and weighted total (0–100)."""

    student: str
    items: list[ItemResult]

    @property
    def total(self) -> float:
        weights = sum(r.item.weight for r in self.items)
        return sum(r.total * r.item.weight for r in self.items) / weights if weights else 0.0


def score_student(exam: Exam, student: str, folder: Path, settings: Settings) -> StudentResult:
    """Score every item of ``exam`` from the student's folder (with the assessors the settings configure)."""
    return StudentResult(student, [_score_item(item, _recording(folder, item), settings) for item in exam.items])


def score_class(
    exam: Exam, recordings: Path, settings: Settings, progress: Callable[[str], None] | None = None
) -> list[StudentResult]:
    """Score every student folder under ``recordings`` (sorted by name)."""
    if not recordings.is_dir():
        raise InvalidOptionError(f"recordings folder not found: {recordings}")
    students = sorted(p for p in recordings.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not students:
        raise InvalidOptionError(f"no student folders in {recordings} (expected <student>/<item id>.wav)")
    results = []
    for folder in tqdm(students, desc="exam", unit="student", file=sys.stderr, disable=not sys.stderr.isatty()):
        results.append(score_student(exam, folder.name, folder, settings))
        if progress:
            progress(folder.name)
    return results


def _recording(folder: Path, item: ExamItem) -> Path | None:
    matches = sorted(p for p in folder.glob(f"{item.id}.*") if p.is_file())
    return matches[0] if matches else None


def _score_item(item: ExamItem, path: Path | None, settings: Settings) -> ItemResult:
    if path is None:
        return ItemResult(item, None, "no recording", "no_recording")
    try:
        samples = decode_audio(path, max_seconds=MAX_ITEM_SECONDS)
        return ItemResult(item, get_assessor(item.language, settings).assess(samples, item.text))
    except Exception as exc:  # a bad recording scores 0 with its reason, as does a failure nobody foresaw
        if not isinstance(exc, ShengguError):
            log.exception("exam item failed", item=item.id, recording=path.name)
        code, message = error_info(exc)
        return ItemResult(item, None, message, code)
