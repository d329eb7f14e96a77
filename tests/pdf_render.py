"""Render a PDF page with PDFium and check that its Chinese characters really show: each character's box (from
PDFium's text page) is cropped out of the rendered bitmap, must hold ink, and different characters must look
different. A missing glyph draws the same empty box ("tofu") for every character, or nothing at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
from PIL import Image
from pypdf import PdfReader

SCALE = 3  # 216 dpi: a 10 pt character is about 30 pixels wide
THUMB = 24  # crops are compared at this size, so the same glyph at two font sizes compares equal
INK = 128  # grey level below which a pixel counts as ink


@dataclass
class RenderedPage:
    """A rendered page (grey levels), its text as PDFium extracts it, and a crop per distinct ideograph or digit."""

    image: Image.Image
    text: str
    crops: dict[str, np.ndarray]


def _is_checked(char: str) -> bool:
    # Ideographs, and digits too: a CJK fallback font without Latin glyphs prints a case number as boxes.
    return len(char) == 1 and ("\u4e00" <= char <= "\u9fff" or "0" <= char <= "9")


def render_page(pdf_path: Path, png_path: Path, page_index: int = 0) -> RenderedPage:
    """Render one page of ``pdf_path`` to ``png_path`` and crop each distinct ideograph or digit (its first
    occurrence)."""
    pdf = pdfium.PdfDocument(str(pdf_path))
    try:
        page = pdf[page_index]
        image = page.render(scale=SCALE, grayscale=True).to_pil().convert("L")
        image.save(png_path)
        height = page.get_size()[1]
        textpage = page.get_textpage()
        crops: dict[str, np.ndarray] = {}
        for i in range(textpage.count_chars()):
            char = textpage.get_text_range(i, 1)
            if not _is_checked(char) or char in crops:
                continue
            left, bottom, right, top = textpage.get_charbox(i, loose=True)  # the font's full line height
            box = (left * SCALE, (height - top) * SCALE, right * SCALE, (height - bottom) * SCALE)
            crops[char] = np.asarray(image.crop(tuple(round(v) for v in box)))
        text = textpage.get_text_range()
    finally:
        pdf.close()
    return RenderedPage(image, text, crops)


def _thumbnail(crop: np.ndarray) -> np.ndarray:
    return np.asarray(Image.fromarray(crop).resize((THUMB, THUMB))) < INK


def assert_chinese_renders(pdf_path: Path, png_path: Path, *, min_characters: int = 10) -> RenderedPage:
    """Render page 1 of ``pdf_path`` to ``png_path`` and assert that at least ``min_characters`` distinct
    ideographs (and the page's digits) print as ink, each pair of them differing in at least 5 % of the pixels of
    their thumbnails."""
    page = render_page(pdf_path, png_path)
    ideographs = [char for char in page.crops if not char.isdigit()]
    assert len(ideographs) >= min_characters, f"only {len(ideographs)} distinct ideographs on page 1"
    thumbs = {char: _thumbnail(crop) for char, crop in page.crops.items()}
    blank = [char for char, thumb in thumbs.items() if thumb.mean() < 0.02]
    assert not blank, f"characters without ink: {''.join(blank)}"
    alike = [(a, b) for a, b in combinations(thumbs, 2) if (thumbs[a] != thumbs[b]).mean() < 0.05]
    assert not alike, f"{len(alike)} pairs of different characters look the same, e.g. {alike[:5]}"
    return page


def assert_fonts_embedded(pdf_path: Path) -> list[str]:
    """Assert that every font the pages use is embedded as a TrueType font file (FontFile2) and that none is a
    font the viewer must supply (STSong-Light, Helvetica); return the fonts' names."""
    raw = pdf_path.read_bytes()
    for named in (b"STSong-Light", b"Helvetica"):
        assert named not in raw, f"the PDF names {named.decode()}, a font it does not embed"
    names = []
    for page in PdfReader(str(pdf_path)).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            names.append(str(font["/BaseFont"]))
            assert "/FontFile2" in font["/FontDescriptor"], f"{font['/BaseFont']} is not embedded"
    assert names
    return names
