"""Smart-court solution: a structured hearing record (庭审笔录) from a diarized transcript, with JSON, DOCX and
PDF export. Recognition and diarization happen upstream; this package only structures and exports their result."""

from shenggu.solutions.court.export import export_record, write_docx, write_json, write_pdf
from shenggu.solutions.court.keywords import LEGAL_TERMS, KeywordHit, Mention, find_amounts, find_dates, index_keywords
from shenggu.solutions.court.record import (
    ROLE_NAMES,
    HearingHeader,
    HearingRecord,
    Participant,
    Utterance,
    build_record,
    role_label,
)

__all__ = [
    "LEGAL_TERMS",
    "ROLE_NAMES",
    "HearingHeader",
    "HearingRecord",
    "KeywordHit",
    "Mention",
    "Participant",
    "Utterance",
    "build_record",
    "export_record",
    "find_amounts",
    "find_dates",
    "index_keywords",
    "role_label",
    "write_docx",
    "write_json",
    "write_pdf",
]
