"""Export a hearing record as JSON, DOCX (python-docx) and PDF (reportlab), each file written atomically."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from xml.sax.saxutils import escape

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Pt
from docx.styles.style import BaseStyle
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from shenggu.lazy import once
from shenggu.solutions.court.record import HearingRecord

PDF_FONT = "STSong-Light"  # reportlab's built-in Adobe CID font for simplified Chinese: no font file to ship
DOCX_FONT = "宋体"  # the usual body font of Chinese court documents
_MARGIN = 20 * mm

# One section of the index: its title, column headings and rows of cell texts.
_Section = tuple[str, list[str], list[list[str]]]


def write_json(record: HearingRecord, path: str | Path) -> Path:
    """Write ``record.to_dict()`` as UTF-8 JSON (Chinese unescaped) to ``path``; return the path."""
    text = json.dumps(record.to_dict(), ensure_ascii=False, indent=2) + "\n"
    return _atomic_write(Path(path), lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_docx(record: HearingRecord, path: str | Path) -> Path:
    """Write the record as a Word document: title, header table, one paragraph per utterance
    (``[00:01:23] 审判长：…`` with the role in bold), then the index tables; return the path."""
    doc = Document()
    for style in ("Normal", "Heading 1"):
        _set_east_asian_font(doc.styles[style], DOCX_FONT)

    title = doc.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = title.add_run(record.header.title)
    run.bold = True
    run.font.size = Pt(18)
    _docx_table(doc, [list(row) for row in _header_rows(record)], bold_column=True)

    doc.add_heading("庭审记录", level=1)
    for u in record.utterances:
        paragraph = doc.add_paragraph(f"[{_clock(u.start)}] ")
        paragraph.add_run(u.role).bold = True
        paragraph.add_run(f"：{u.text}")
    if not record.utterances:
        doc.add_paragraph("（无发言记录）")

    for name, columns, rows in _index_sections(record):
        doc.add_heading(name, level=1)
        _docx_table(doc, [columns, *rows], bold_row=True)
    return _atomic_write(Path(path), lambda tmp: doc.save(str(tmp)))


def write_pdf(record: HearingRecord, path: str | Path) -> Path:
    """Write the record as an A4 PDF with the same layout as the DOCX and page numbers; return the path.

    Text is set in STSong-Light, which the PDF references without embedding: viewers supply a Chinese font. The
    font has no bold face, so roles are not bold here.
    """
    _register_pdf_font()
    # wordWrap="CJK" lets a line break between any two characters, as Chinese text (no spaces) needs.
    body = ParagraphStyle("body", fontName=PDF_FONT, fontSize=11, leading=17, wordWrap="CJK", spaceAfter=4)
    title = ParagraphStyle("title", parent=body, fontSize=18, leading=26, alignment=TA_CENTER, spaceAfter=10)
    heading = ParagraphStyle("heading", parent=body, fontSize=13, leading=20, spaceBefore=10, spaceAfter=6)
    cell = ParagraphStyle("cell", parent=body, fontSize=10, leading=14, spaceAfter=0)
    width = A4[0] - 2 * _MARGIN

    def table(rows: list[list[str]], first_column: float, repeat_rows: int) -> Table:
        # Paragraph cells, so long names and texts wrap inside their column instead of overflowing it.
        rest = (width - first_column) / (len(rows[0]) - 1)
        return Table(
            [[Paragraph(escape(text), cell) for text in row] for row in rows],
            colWidths=[first_column] + [rest] * (len(rows[0]) - 1),
            style=TableStyle([("GRID", (0, 0), (-1, -1), 0.5, colors.grey), ("VALIGN", (0, 0), (-1, -1), "TOP")]),
            hAlign="LEFT",
            repeatRows=repeat_rows,
        )

    story: list[Flowable] = [
        Paragraph(escape(record.header.title), title),
        table([list(row) for row in _header_rows(record)], 30 * mm, 0),
        Paragraph("庭审记录", heading),
    ]
    for u in record.utterances:
        stamp = f'<font color="#666666">[{_clock(u.start)}]</font>'
        story.append(Paragraph(f"{stamp} {escape(u.role)}：{escape(u.text)}", body))
    if not record.utterances:
        story.append(Paragraph("（无发言记录）", body))
    for name, columns, rows in _index_sections(record):
        story += [Paragraph(name, heading), table([columns, *rows], 40 * mm, 1), Spacer(1, 4)]

    def footer(canvas: Canvas, doc: SimpleDocTemplate) -> None:
        canvas.setFont(PDF_FONT, 9)
        canvas.drawCentredString(A4[0] / 2, 12 * mm, f"第 {doc.page} 页")

    def build(tmp: Path) -> None:
        doc = SimpleDocTemplate(
            str(tmp),
            pagesize=A4,
            leftMargin=_MARGIN,
            rightMargin=_MARGIN,
            topMargin=_MARGIN,
            bottomMargin=_MARGIN,
            title=record.header.title,
            subject=record.header.case_number,
        )
        doc.build(story, onFirstPage=footer, onLaterPages=footer)

    return _atomic_write(Path(path), build)


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
        rows.append(("庭审时长", _clock(record.duration)))
    return rows


def _index_sections(record: HearingRecord) -> list[_Section]:
    """The index sections that have entries: legal terms, money amounts and dates, located by utterance time."""
    utterances = record.utterances
    terms = [
        [k.term, str(k.count), "、".join(_clock(utterances[i].start) for i in k.utterances)] for k in record.keywords
    ]
    sections: list[_Section] = [("关键词索引", ["关键词", "次数", "出现时间"], terms)]
    for name, mentions in (("涉及金额", record.amounts), ("涉及日期", record.dates)):
        rows = [[m.text, _clock(utterances[m.utterance].start), utterances[m.utterance].role] for m in mentions]
        sections.append((name, ["内容", "时间", "发言人"], rows))
    return [section for section in sections if section[2]]


def _docx_table(doc: DocxDocument, rows: list[list[str]], *, bold_row: bool = False, bold_column: bool = False) -> None:
    """A grid table of ``rows``, with the first row (headings) or the first column (labels) in bold."""
    table = doc.add_table(rows=len(rows), cols=len(rows[0]))
    table.style = "Table Grid"
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            table.cell(r, c).paragraphs[0].add_run(text).bold = (bold_row and r == 0) or (bold_column and c == 0)


def _set_east_asian_font(style: BaseStyle, font: str) -> None:
    # Word takes the font of Chinese characters from w:eastAsia, and a theme font (w:eastAsiaTheme) overrides it.
    fonts = style.element.get_or_add_rPr().get_or_add_rFonts()
    fonts.set(qn("w:eastAsia"), font)
    fonts.attrib.pop(qn("w:eastAsiaTheme"), None)


@once
def _register_pdf_font() -> None:
    pdfmetrics.registerFont(UnicodeCIDFont(PDF_FONT))


def _clock(seconds: float) -> str:
    whole = max(0, int(seconds))
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def _atomic_write(path: Path, write: Callable[[Path], object]) -> Path:
    """Let ``write`` fill a temporary file beside ``path``, flush it to disk and rename it over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # A unique name keeps concurrent exports apart; unlike mkstemp's 0600 file, the writer creates it with the
    # process umask, so the result has the permissions of any other file written here.
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        write(tmp)
        with tmp.open("rb") as written:
            os.fsync(written.fileno())  # the rename must not reach the disk before the content does
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
