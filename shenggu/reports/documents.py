"""Printable documents shared by the solutions' exports (the court's hearing record, the medical record): the
atomic file write, the DOCX table and font helpers, and the PDF font, styles, tables and page-number footer.

The PDF font is a TrueType font embedded in every PDF (reportlab embeds the subset of glyphs a document uses), so
the Chinese text renders on a machine without any CJK font. It is WenQuanYi Zen Hei from Debian's
``fonts-wqy-zenhei`` (GPL-2 with a font-embedding exception: a document that embeds it is not covered by the GPL;
``scripts/ensure-fonts.sh`` installs it). Chosen over Droid Sans Fallback (no Latin letters or digits: a case
number would print as boxes) and WenQuanYi Micro Hei (an empty ℃ glyph); Noto CJK has PostScript outlines, which
reportlab cannot embed. Without the font a :class:`MissingFontError` names the package: never a font that is only
*named* in the PDF.

PDF/A (ISO 19005-2, level B, for archives): every glyph is embedded with a ToUnicode map (text can be searched
and copied); the document carries an XMP metadata stream that identifies it as PDF/A-2b and repeats its title,
author and dates, an OutputIntent with an sRGB ICC profile (made by Pillow's LittleCMS) for its DeviceRGB/gray
colours, ``/Lang zh-CN``, and no encryption, JavaScript, transparency or external content. reportlab writes the
page content, pikepdf adds the XMP and the intent. Not checked by a PDF/A validator here (veraPDF needs Java),
and not tagged (PDF/A-2a or PDF/UA would need a structure tree).
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

import pikepdf
from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Pt
from docx.styles.style import BaseStyle
from PIL import ImageCms
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Table, TableStyle

from shenggu.errors import ShengguError
from shenggu.lazy import once

AUTHOR = "shenggu"
LANGUAGE = "zh-CN"
DOCX_FONT = "宋体"  # the usual body font of Chinese official documents; Word supplies it, the DOCX only names it
PDF_FONT = "ShengguChinese"  # the name the embedded font is registered under in reportlab
MARGIN = 20 * mm
CONTENT_WIDTH = A4[0] - 2 * MARGIN


@dataclass(frozen=True)
class FontFile:
    """A TrueType font file (``subfont``: its index in a .ttc collection) and the Debian package that has it."""

    path: Path
    subfont: int
    package: str


CHINESE_FONT = FontFile(Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"), 0, "fonts-wqy-zenhei")


class MissingFontError(ShengguError):
    """The Chinese font that PDFs embed is not installed (or cannot be read)."""

    code = "font_missing"
    http_status = 500  # the server's installation is incomplete, not the request


# --------------------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------------------


def atomic_write(path: Path, write: Callable[[Path], object]) -> Path:
    """Let ``write`` fill a temporary file beside ``path``, flush it to disk and rename it over ``path``; return
    ``path``. A reader never sees a half-written file, and a failed write leaves the previous file as it was."""
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


def write_json_file(data: object, path: str | Path) -> Path:
    """Write ``data`` as indented UTF-8 JSON (Chinese unescaped) to ``path``, atomically; return the path."""
    text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    return atomic_write(Path(path), lambda tmp: tmp.write_text(text, encoding="utf-8"))


def clock(seconds: float) -> str:
    """``hh:mm:ss`` of a time in seconds (negative times as 00:00:00)."""
    whole = max(0, int(seconds))
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


# --------------------------------------------------------------------------------------------------------
# DOCX
# --------------------------------------------------------------------------------------------------------


def new_docx(title: str, *, subject: str = "") -> DocxDocument:
    """A Word document with :data:`DOCX_FONT` for Chinese text, its properties set (title, subject, author,
    language) and ``title`` as its first paragraph, centred and bold."""
    doc = Document()
    for style in ("Normal", "Heading 1", "Heading 2"):
        set_east_asian_font(doc.styles[style], DOCX_FONT)
    properties = doc.core_properties
    properties.title, properties.subject, properties.author, properties.language = title, subject, AUTHOR, LANGUAGE
    paragraph = doc.add_paragraph()
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = paragraph.add_run(title)
    run.bold = True
    run.font.size = Pt(18)
    return doc


def docx_table(doc: DocxDocument, rows: list[list[str]], *, bold_row: bool = False, bold_column: bool = False) -> None:
    """Append a grid table of ``rows``, with the first row (headings) or the first column (labels) in bold."""
    table = doc.add_table(rows=len(rows), cols=len(rows[0]))
    table.style = "Table Grid"
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            table.cell(r, c).paragraphs[0].add_run(text).bold = (bold_row and r == 0) or (bold_column and c == 0)


def save_docx(doc: DocxDocument, path: str | Path) -> Path:
    """Save ``doc`` to ``path`` atomically; return the path."""
    return atomic_write(Path(path), lambda tmp: doc.save(str(tmp)))


def set_east_asian_font(style: BaseStyle, font: str) -> None:
    """Make ``style`` set Chinese characters in ``font``."""
    # Word takes the font of Chinese characters from w:eastAsia, and a theme font (w:eastAsiaTheme) overrides it.
    fonts = style.element.get_or_add_rPr().get_or_add_rFonts()
    fonts.set(qn("w:eastAsia"), font)
    fonts.attrib.pop(qn("w:eastAsiaTheme"), None)


# --------------------------------------------------------------------------------------------------------
# PDF
# --------------------------------------------------------------------------------------------------------


def register_font(font: FontFile, name: str) -> str:
    """Register ``font`` with reportlab as ``name`` (embedded in each PDF that uses it); return ``name``.
    :class:`MissingFontError`, naming the Debian package, when the file is missing or unusable."""
    if not font.path.is_file():
        raise MissingFontError(
            f"the Chinese font for PDF export is not installed: {font.path} "
            f"(Debian: apt install {font.package}, or run scripts/ensure-fonts.sh)"
        )
    try:
        pdfmetrics.registerFont(TTFont(name, str(font.path), subfontIndex=font.subfont))
    except TTFError as exc:  # not a TrueType font, or one whose licence flags forbid embedding
        raise MissingFontError(
            f"the Chinese font {font.path} cannot be embedded ({exc}): reinstall {font.package}"
        ) from exc
    return name


@once
def pdf_font() -> str:
    """The registered name of the embedded Chinese PDF font, registered on first use (once per process)."""
    return register_font(CHINESE_FONT, PDF_FONT)


@dataclass(frozen=True)
class PdfStyles:
    """The paragraph styles of a record: body text, the document title, section headings and table cells."""

    body: ParagraphStyle
    title: ParagraphStyle
    heading: ParagraphStyle
    cell: ParagraphStyle


def pdf_styles() -> PdfStyles:
    """The paragraph styles, all in the embedded Chinese font (registered here if it is not yet).

    The font has no bold face, so nothing is bold in the PDF; sizes set the title and headings apart."""
    # wordWrap="CJK" lets a line break between any two characters, as Chinese text (no spaces) needs.
    body = ParagraphStyle("body", fontName=pdf_font(), fontSize=11, leading=17, wordWrap="CJK", spaceAfter=4)
    return PdfStyles(
        body=body,
        title=ParagraphStyle("title", parent=body, fontSize=18, leading=26, alignment=TA_CENTER, spaceAfter=10),
        heading=ParagraphStyle("heading", parent=body, fontSize=13, leading=20, spaceBefore=10, spaceAfter=6),
        cell=ParagraphStyle("cell", parent=body, fontSize=10, leading=14, spaceAfter=0),
    )


def pdf_text(text: str, style: ParagraphStyle) -> Paragraph:
    """A paragraph of plain ``text`` (``<`` and ``&`` escaped, not read as reportlab markup)."""
    return Paragraph(escape(text), style)


def pdf_table(rows: list[list[str]], first_column: float, style: ParagraphStyle, *, repeat_rows: int = 0) -> Table:
    """A grid table of ``rows`` across the page: the first column ``first_column`` wide, the rest sharing the
    remaining width; ``repeat_rows`` heading rows are repeated on each page the table spans."""
    rest = (CONTENT_WIDTH - first_column) / (len(rows[0]) - 1)
    return Table(
        # Paragraph cells, so long texts wrap inside their column instead of overflowing it.
        [[pdf_text(text, style) for text in row] for row in rows],
        colWidths=[first_column] + [rest] * (len(rows[0]) - 1),
        style=TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("FONTNAME", (0, 0), (-1, -1), style.fontName),  # else each cell names Helvetica (not embedded)
            ]
        ),
        hAlign="LEFT",
        repeatRows=repeat_rows,
    )


def page_number_footer(canvas: Canvas, doc: SimpleDocTemplate) -> None:
    """Draw ``第 N 页`` centred at the foot of the page (an ``onPage`` callback of reportlab)."""
    canvas.setFont(pdf_font(), 9)
    canvas.drawCentredString(A4[0] / 2, 12 * mm, f"第 {doc.page} 页")


def write_pdf_document(path: str | Path, story: list[Flowable], *, title: str, subject: str = "") -> Path:
    """Lay ``story`` out on A4 pages with page numbers and write it to ``path`` atomically; return the path.

    The document's properties carry ``title``, ``subject``, the author ``shenggu`` and the language zh-CN."""
    font = pdf_font()

    def build(tmp: Path) -> None:
        doc = SimpleDocTemplate(
            str(tmp),
            pagesize=A4,
            leftMargin=MARGIN,
            rightMargin=MARGIN,
            topMargin=MARGIN,
            bottomMargin=MARGIN,
            title=title,
            subject=subject,
            author=AUTHOR,
            creator=AUTHOR,
            lang=LANGUAGE,
            initialFontName=font,  # else every page names Helvetica, a font the PDF does not embed
        )
        doc.build(story, onFirstPage=page_number_footer, onLaterPages=page_number_footer)
        mark_pdfa(tmp)

    return atomic_write(Path(path), build)


def mark_pdfa(path: Path) -> None:
    """Add the PDF/A-2b identification (XMP metadata from the document's info) and an sRGB output intent to the
    PDF at ``path``, in place."""
    with pikepdf.open(path, allow_overwriting_input=True) as pdf:
        if "/Trapped" in pdf.docinfo:  # reportlab's /Trapped has no XMP twin; PDF/A wants the two to agree
            del pdf.docinfo["/Trapped"]
        with pdf.open_metadata(set_pikepdf_as_editor=False) as meta:
            meta.load_from_docinfo(pdf.docinfo)
            meta["pdfaid:part"] = "2"
            meta["pdfaid:conformance"] = "B"
        profile = pdf.make_stream(_srgb_profile())
        profile.N = 3
        pdf.Root.OutputIntents = pikepdf.Array(
            [
                pikepdf.Dictionary(
                    Type=pikepdf.Name.OutputIntent,
                    S=pikepdf.Name.GTS_PDFA1,
                    OutputConditionIdentifier="sRGB IEC61966-2.1",
                    Info="sRGB IEC61966-2.1",
                    DestOutputProfile=profile,
                )
            ]
        )
        pdf.save(path)


@once
def _srgb_profile() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
