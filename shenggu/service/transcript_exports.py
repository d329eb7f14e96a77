"""A saved transcript as a downloadable file: TXT, SRT and VTT by the recognizer's own writers
(``shenggu.asr.formats``), DOCX with the exports' document helpers (``shenggu.reports.documents``), JSON as the API
shows it; and the file name a browser saves it under."""

from __future__ import annotations

import io
import json
import re
from typing import Literal
from urllib.parse import quote

from shenggu.asr.formats import render, text_separator
from shenggu.asr.types import Segment, Transcript
from shenggu.reports.documents import clock, new_docx
from shenggu.service.storage.models import StoredTranscript

ExportFormat = Literal["txt", "srt", "vtt", "docx", "json"]
MEDIA_TYPES: dict[str, str] = {
    "txt": "text/plain; charset=utf-8",
    "srt": "text/srt; charset=utf-8",
    "vtt": "text/vtt; charset=utf-8",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "json": "application/json",
}
# Characters no file name may hold on Windows, macOS or Linux, and control characters.
_UNSAFE = re.compile(r'[\x00-\x1f\x7f-\x9f<>:"/\\|?*]+')
_MAX_STEM = 100


def to_transcript(row: StoredTranscript) -> Transcript:
    """The stored transcript as the recognizer's ``Transcript``, for its writers. Speakers are listed in order of
    first appearance, without roles (the labels are the names the editor gave); words are left out, as no writer
    of these formats uses them. An unknown language joins texts with spaces (right for most languages, readable
    for Mandarin)."""
    language = row.language or ""
    segments = [Segment(s["start"], s["end"], s["text"], speaker=s.get("speaker")) for s in row.segments]
    speakers = dict.fromkeys(s.speaker for s in segments if s.speaker is not None)
    text = text_separator(language).join(s.text.strip() for s in segments)
    duration = row.duration if row.duration is not None else max((s.end for s in segments), default=0.0)
    return Transcript(text, language, duration, segments, {label: "" for label in speakers})


def to_docx(row: StoredTranscript) -> bytes:
    """A Word document: the name as its title, then one paragraph per segment: its times, its speaker in bold
    (when known) and its text."""
    doc = new_docx(row.name, subject="转写稿")
    for segment in row.segments:
        paragraph = doc.add_paragraph(f"[{clock(segment['start'])} – {clock(segment['end'])}] ")
        if segment.get("speaker"):
            paragraph.add_run(segment["speaker"]).bold = True
            paragraph.add_run("：")
        paragraph.add_run(segment["text"])
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def export(row: StoredTranscript, fmt: ExportFormat, view: dict) -> bytes:
    """The transcript's file in ``fmt``; ``view`` is its JSON as the API shows it (the ``json`` format)."""
    if fmt == "docx":
        return to_docx(row)
    if fmt == "json":
        return (json.dumps(view, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    return render(to_transcript(row), fmt).encode("utf-8")


def file_name(name: str) -> str:
    """A file name (without extension) made from a transcript's name: the characters a file system refuses
    become ``_``, and leading or trailing dots and blanks go; ``transcript`` if nothing is left."""
    stem = _UNSAFE.sub("_", name).strip(" ._")[:_MAX_STEM].strip(" ._")
    return stem or "transcript"


def content_disposition(name: str, transcript_id: str, fmt: str) -> str:
    """``attachment`` with the file name made from ``name`` (RFC 6266 ``filename*``, UTF-8, for any script) and
    an ASCII one made from the id for clients that only read ``filename``."""
    utf8 = quote(f"{file_name(name)}.{fmt}", safe="")
    return f"attachment; filename=\"transcript-{transcript_id}.{fmt}\"; filename*=UTF-8''{utf8}"
