"""Every PDF shenggu writes embeds its Chinese font: the court record's PDF carries a TrueType font file (no font
only named, as STSong-Light was), its Chinese characters and digits really draw when PDFium renders the page, and
a missing font is a clear error naming the Debian package. The font is part of the installation
(scripts/ensure-fonts.sh, run by `make`), so these tests fail rather than skip without it."""

from __future__ import annotations

from pathlib import Path

import pikepdf
import pytest
from pypdf import PdfReader

from shenggu.asr.types import Segment, Transcript
from shenggu.reports.documents import FontFile, MissingFontError, register_font
from shenggu.solutions.court import HearingHeader, build_record, write_pdf
from tests.pdf_render import assert_chinese_renders, assert_fonts_embedded

CASE = "(2024)京0105民初12345号"
LINES = [
    (0.0, 4.2, "SPEAKER_00", "现在开庭。原告张某诉被告李某民间借贷纠纷一案，依法公开审理。"),
    (4.5, 12.0, "SPEAKER_01", "判令被告归还借款本金5万元，并按年利率12.5%支付利息。"),
    (12.5, 18.0, "SPEAKER_02", "借条是我写的，但我已经在今年3月通过银行转账还了2万元。"),
]


@pytest.fixture(scope="module")
def court_pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    segments = [Segment(start, end, text, speaker=speaker) for start, end, speaker, text in LINES]
    transcript = Transcript("".join(s.text for s in segments), "zh", LINES[-1][1], segments)
    header = HearingHeader(case_number=CASE, court="北京市朝阳区人民法院", date="2024年5月20日")
    record = build_record(transcript, header, {"SPEAKER_00": "judge", "SPEAKER_01": "plaintiff"})
    return write_pdf(record, tmp_path_factory.mktemp("court") / "record.pdf")


def test_court_pdf_embeds_its_font(court_pdf: Path) -> None:
    fonts = assert_fonts_embedded(court_pdf)
    assert all("WenQuanYiZenHei" in name for name in fonts)  # subset names: "AAAAAA+WenQuanYiZenHei-0"


def test_court_pdf_renders_chinese(court_pdf: Path, tmp_path: Path) -> None:
    page = assert_chinese_renders(court_pdf, tmp_path / "page1.png")
    assert (tmp_path / "page1.png").stat().st_size > 10_000
    # PDFium maps the embedded glyphs back to the text (the font's ToUnicode map): searchable, copyable.
    assert CASE in page.text
    assert "审判长：现在开庭。" in page.text.replace("\r\n", "")


def test_court_pdf_metadata(court_pdf: Path) -> None:
    reader = PdfReader(str(court_pdf))
    meta = reader.metadata
    assert (meta.title, meta.subject, meta.author) == ("庭审笔录", CASE, "shenggu")
    assert reader.trailer["/Root"]["/Lang"] == "zh-CN"


def test_court_pdf_identifies_itself_as_pdfa(court_pdf: Path) -> None:
    with pikepdf.open(court_pdf) as pdf:
        meta = pdf.open_metadata()
        assert (meta["pdfaid:part"], meta["pdfaid:conformance"]) == ("2", "B")
        assert meta["dc:title"] == "庭审笔录" and "shenggu" in meta["dc:creator"]
        (intent,) = pdf.Root.OutputIntents
        assert intent.S == "/GTS_PDFA1" and intent.DestOutputProfile.N == 3
        profile = intent.DestOutputProfile.read_bytes()
        assert profile[36:40] == b"acsp" and profile[16:20] == b"RGB "  # an ICC profile of an RGB colour space


def test_missing_font_names_the_debian_package(tmp_path: Path) -> None:
    with pytest.raises(MissingFontError, match="apt install fonts-wqy-zenhei"):
        register_font(FontFile(tmp_path / "absent.ttc", 0, "fonts-wqy-zenhei"), "AbsentFont")
    not_a_font = tmp_path / "broken.ttf"
    not_a_font.write_bytes(b"\0" * 64)
    with pytest.raises(MissingFontError, match="cannot be embedded"):
        register_font(FontFile(not_a_font, 0, "fonts-wqy-zenhei"), "BrokenFont")
