"""Export a hearing record as JSON, DOCX (python-docx) and PDF (reportlab, Chinese font embedded), each file
written atomically; the document helpers are shared with the other solutions (``shenggu.reports.documents``)."""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, Spacer

from shenggu.reports.documents import (
    clock,
    docx_table,
    new_docx,
    pdf_styles,
    pdf_table,
    pdf_text,
    save_docx,
    write_json_file,
    write_pdf_document,
)
from shenggu.solutions.court.record import HearingRecord

# One section of the index: its title, column headings and rows of cell texts.
_Section = tuple[str, list[str], list[list[str]]]


def write_json(record: HearingRecord, path: str | Path) -> Path:
    """Write ``record.to_dict()`` as UTF-8 JSON (Chinese unescaped) to ``path``; return the path."""
    return write_json_file(record.to_dict(), path)


def write_docx(record: HearingRecord, path: str | Path) -> Path:
    """Write the record as a Word document: title, header table, one paragraph per utterance
    (``[00:01:23] 审判长：…`` with the role in bold), then the index tables; return the path."""
    doc = new_docx(record.header.title, subject=record.header.case_number)
    docx_table(doc, [list(row) for row in _header_rows(record)], bold_column=True)

    doc.add_heading("庭审记录", level=1)
    for u in record.utterances:
        paragraph = doc.add_paragraph(f"[{clock(u.start)}] ")
        paragraph.add_run(u.role).bold = True
        paragraph.add_run(f"：{u.text}")
    if not record.utterances:
        doc.add_paragraph("（无发言记录）")

    for name, columns, rows in _index_sections(record):
        doc.add_heading(name, level=1)
        docx_table(doc, [columns, *rows], bold_row=True)
    return save_docx(doc, path)


def write_pdf(record: HearingRecord, path: str | Path) -> Path:
    """Write the record as an A4 PDF with the same layout as the DOCX and page numbers; return the path.

    The Chinese font is embedded (:mod:`shenggu.reports.documents`); it has no bold face, so roles are not bold
    here. ``MissingFontError`` when the font is not installed.
    """
    styles = pdf_styles()
    story: list[Flowable] = [
        pdf_text(record.header.title, styles.title),
        pdf_table([list(row) for row in _header_rows(record)], 30 * mm, styles.cell),
        Paragraph("庭审记录", styles.heading),
    ]
    for u in record.utterances:
        stamp = f'<font color="#666666">[{clock(u.start)}]</font>'
        story.append(Paragraph(f"{stamp} {escape(u.role)}：{escape(u.text)}", styles.body))
    if not record.utterances:
        story.append(Paragraph("（无发言记录）", styles.body))
    for name, columns, rows in _index_sections(record):
        table = pdf_table([columns, *rows], 40 * mm, styles.cell, repeat_rows=1)
        story += [Paragraph(name, styles.heading), table, Spacer(1, 4)]
    return write_pdf_document(path, story, title=record.header.title, subject=record.header.case_number)


def export_record(record: HearingRecord, out_dir: str | Path) -> dict[str, Path]:
    """Write record.json, record.docx and record.pdf into ``out_dir`` (created if needed).

    Returns ``{"json": path, "docx": path, "pdf": path}``. Each file is written to a temporary file beside it and
    renamed into place, so a reader never sees a half-written file.
    """
    out = Path(out_dir)
    return {
        "json": write_json(record, out / "record.json"),
        "docx": write_docx(record, out / "record.docx"),
        "pdf": write_pdf(record, out / "record.pdf"),
    }


def _header_rows(record: HearingRecord) -> list[tuple[str, str]]:
    """The header table: case number, court, date, one row per role with its participants' names, duration."""
    header = record.header
    rows = [("案号", header.case_number)]
    rows += [(label, value) for label, value in (("法院", header.court), ("日期", header.date)) if value]
    names: dict[str, list[str]] = {}
    for p in header.participants:
        names.setdefault(p.role, []).extend([p.name] if p.name else [])
    rows += [(role, "、".join(people)) for role, people in names.items()]
    if record.duration > 0:
        rows.append(("庭审时长", clock(record.duration)))
    return rows


def _index_sections(record: HearingRecord) -> list[_Section]:
    """The index sections that have entries: legal terms, money amounts and dates, located by utterance time."""
    utterances = record.utterances
    terms = [
        [k.term, str(k.count), "、".join(clock(utterances[i].start) for i in k.utterances)] for k in record.keywords
    ]
    sections: list[_Section] = [("关键词索引", ["关键词", "次数", "出现时间"], terms)]
    for name, mentions in (("涉及金额", record.amounts), ("涉及日期", record.dates)):
        rows = [[m.text, clock(utterances[m.utterance].start), utterances[m.utterance].role] for m in mentions]
        sections.append((name, ["内容", "时间", "发言人"], rows))
    return [section for section in sections if section[2]]
