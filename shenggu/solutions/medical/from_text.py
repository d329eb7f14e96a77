"""Records made from text at once (no recording): a dictated transcript, typed notes, or a written dialogue."""

from __future__ import annotations

from collections.abc import Sequence

from shenggu.solutions.medical.consultation import draft_consultation
from shenggu.solutions.medical.dictation import dictate_text
from shenggu.solutions.medical.record import MedicalRecord, SourceUtterance

TEXT_MODES = ("dictation", "consultation", "text")


def text_record(mode: str, text: str = "", dialogue: Sequence[tuple[str, str]] = ()) -> MedicalRecord:
    """The record of a text: ``dictation`` reads it as a dictated transcript (section names, spoken commands),
    ``text`` the same way as typed notes (the record and its statements say ``text``), ``consultation`` drafts
    it from the ``dialogue`` turns ``(role, text)`` (role doctor or patient)."""
    if mode == "consultation":
        return draft_consultation([SourceUtterance(said, role) for role, said in dialogue])
    record = dictate_text([(text, None, None)])
    if mode == "text":
        record.mode = "text"
        for section in record.sections:
            for statement in section.statements:
                statement.source = "text"
    return record
