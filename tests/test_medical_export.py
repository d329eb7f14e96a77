"""The medical record's printable form: JSON round trip, the DOCX's sections, entity table, review list and
dialogue appendix, and a PDF that embeds its Chinese font and renders it (tests/pdf_render.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import docx
import pytest
from pypdf import PdfReader

from shenggu.solutions.medical.export import export_record, write_docx, write_pdf
from shenggu.solutions.medical.record import (
    Entity,
    MedicalRecord,
    ReviewFlag,
    SourceUtterance,
    Statement,
)
from tests.pdf_render import assert_chinese_renders, assert_fonts_embedded

COMPLAINT = "发热伴咳嗽3天。"
ALLERGY = "否认药物过敏史。"
ORDER = "阿莫西林胶囊0.5g口服每日三次。"


def _record() -> MedicalRecord:
    """A consultation's draft record, its statements and entities written by hand as the pipeline returns them."""
    record = MedicalRecord(mode="consultation", draft=True, duration=95.0)
    record.section("主诉").statements.append(
        Statement(
            COMPLAINT,
            [Entity("symptom", "发热", 0, 2), Entity("symptom", "咳嗽", 3, 5, attributes={"duration": "3天"})],
        )
    )
    record.section("医嘱").statements.append(
        Statement(
            ORDER,
            [
                Entity(
                    "drug",
                    "阿莫西林胶囊",
                    0,
                    6,
                    attributes={"dose": "0.5", "unit": "g", "route": "口服", "frequency": "每日三次"},
                )
            ],
        )
    )
    record.section("过敏史").statements.append(Statement(ALLERGY, [Entity("allergy", "药物过敏", 2, 6, negated=True)]))
    record.section("体格检查").statements.append(
        Statement("体温38.5℃，咽部充血。", [Entity("vital_sign", "体温38.5℃", 0, 7, value="38.5", unit="℃")])
    )
    record.section("初步诊断").statements.append(
        Statement("急性上呼吸道感染。", [Entity("diagnosis", "急性上呼吸道感染", 0, 8, code="J06.9")])
    )
    record.section("辅助检查")  # an empty section prints no heading
    record.needs_review.append(ReviewFlag("剂量未在对话中出现", section="医嘱", value="0.5g"))
    record.utterances += [
        SourceUtterance("哪里不舒服？", role="doctor", start=0.0, end=1.5),
        SourceUtterance("发烧咳嗽三天了。", role="patient", start=2.0, end=4.0),
        SourceUtterance("嗯。", speaker="SPEAKER_02", start=63.0, end=63.5),
    ]
    return record


def _docx_paragraphs(path: Path) -> list[str]:
    return [p.text for p in docx.Document(str(path)).paragraphs]


def _docx_table(path: Path) -> list[list[str]]:
    (table,) = docx.Document(str(path)).tables
    return [[cell.text for cell in row.cells] for row in table.rows]


def test_exports_json_docx_and_pdf(tmp_path: Path) -> None:
    record = _record()
    paths = export_record(record, tmp_path / "out")
    assert paths == {name: tmp_path / "out" / f"record.{name}" for name in ("json", "docx", "pdf")}
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["record.docx", "record.json", "record.pdf"]
    data = json.loads(paths["json"].read_text(encoding="utf-8"))
    assert MedicalRecord.from_dict(data).to_dict() == record.to_dict()


def test_docx_layout(tmp_path: Path) -> None:
    path = write_docx(_record(), tmp_path / "record.docx")
    paragraphs = [p for p in _docx_paragraphs(path) if p]
    # Title, then the non-empty sections in record order (the record sorts them), each with its statements.
    assert paragraphs[:11] == [
        "门诊病历（草稿，待医生确认）",
        "主诉",
        COMPLAINT,
        "过敏史",
        ALLERGY,
        "体格检查",
        "体温38.5℃，咽部充血。",
        "初步诊断",
        "急性上呼吸道感染。",
        "医嘱",
        ORDER,
    ]
    assert "辅助检查" not in paragraphs
    assert paragraphs[11:15] == ["医学实体", "待核对", "医嘱：剂量未在对话中出现（0.5g）", "附：问诊对话"]
    assert paragraphs[15:] == [
        "[00:00:00] 医生：哪里不舒服？",
        "[00:00:02] 患者：发烧咳嗽三天了。",
        "[00:01:03] SPEAKER_02：嗯。",
    ]

    rows = _docx_table(path)
    assert rows[0] == ["类型", "内容", "值", "否定"]
    assert rows[1:] == [
        ["症状", "发热", "", ""],
        ["症状", "咳嗽", "疗程 3天", ""],
        ["过敏", "药物过敏", "", "是"],
        ["生命体征", "体温38.5℃", "38.5℃", ""],
        ["诊断", "急性上呼吸道感染", "ICD-10 J06.9", ""],
        ["药物", "阿莫西林胶囊", "剂量 0.5g；途径 口服；频次 每日三次", ""],
    ]
    properties = docx.Document(str(path)).core_properties
    assert (properties.title, properties.author, properties.language) == (
        "门诊病历（草稿，待医生确认）",
        "shenggu",
        "zh-CN",
    )


def test_pdf_embeds_its_font_and_renders_chinese(tmp_path: Path) -> None:
    path = write_pdf(_record(), tmp_path / "record.pdf")
    assert_fonts_embedded(path)
    page = assert_chinese_renders(path, tmp_path / "page1.png")
    text = re.sub(r"\s+", "", page.text)
    for expected in (
        "门诊病历（草稿，待医生确认）",
        COMPLAINT,
        ALLERGY,
        "38.5℃",
        "待核对",
        "[00:00:02]患者：发烧咳嗽三天了。",
    ):
        assert expected in text
    assert "辅助检查" not in text
    assert PdfReader(str(path)).metadata.title == "门诊病历（草稿，待医生确认）"


@pytest.mark.parametrize("writer", [write_docx, write_pdf])
def test_empty_record_prints_its_reason(writer, tmp_path: Path) -> None:
    record = MedicalRecord(mode="dictation", reason="录音中未发现医疗内容。")
    path = writer(record, tmp_path / f"empty.{writer.__name__[6:]}")
    if path.suffix == ".pdf":
        text = "".join(page.extract_text() for page in PdfReader(str(path)).pages)
    else:
        text = "\n".join(_docx_paragraphs(path))
    assert "门诊病历" in text and "录音中未发现医疗内容。" in text
    assert "草稿" not in text and "待核对" not in text and "附：" not in text


def test_confirmed_dictation_has_no_draft_mark_and_no_appendix(tmp_path: Path) -> None:
    record = MedicalRecord(mode="dictation")
    record.section("主诉").statements.append(Statement(COMPLAINT))
    paragraphs = [p for p in _docx_paragraphs(write_docx(record, tmp_path / "r.docx")) if p]
    assert paragraphs == ["门诊病历", "主诉", COMPLAINT]
