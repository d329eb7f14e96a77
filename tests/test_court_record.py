"""Tests of the smart-court hearing record: turns and roles, keyword/amount/date indexes, JSON/DOCX/PDF export."""

from __future__ import annotations

import json
import re
from pathlib import Path

import docx
import pytest
from pypdf import PdfReader
from reportlab.platypus import SimpleDocTemplate

from shenggu.asr.types import Segment, Transcript
from shenggu.solutions.court import (
    HearingHeader,
    HearingRecord,
    Participant,
    build_record,
    export_record,
    find_amounts,
    find_dates,
    index_keywords,
    role_label,
    write_pdf,
)

CASE = "(2024)京0105民初12345号"

# A loan-dispute hearing as the recognizer and diarizer hand it over (text already inverse normalized).
DIALOGUE = [
    (0.0, 4.2, "SPEAKER_00", "现在开庭。原告张某诉被告李某民间借贷纠纷一案，依法公开审理。"),
    (4.5, 8.0, "SPEAKER_00", "当事人对合议庭组成人员是否申请回避？"),
    (8.6, 15.0, "SPEAKER_01", "不申请回避。原告的诉讼请求是：判令被告归还借款本金5万元，并按年利率12.5%支付利息。"),
    (15.2, 21.0, "SPEAKER_01", "事实与理由：双方于2023年3月5日签订借款合同，约定2023年9月5日前还清。"),
    (21.5, 25.0, "SPEAKER_00", "被告，请发表答辩意见。"),
    (25.3, 33.0, "SPEAKER_02", "借条是我写的，但我已经在今年3月通过银行转账还了2万元，只欠3万元。"),
    (40.0, 44.0, "SPEAKER_02", "另外违约金约定过高，请求法庭调整。"),  # after a 7 s pause: a new utterance
    (44.5, 49.0, "SPEAKER_00", "下面进行举证质证。原告，请出示证据。"),
    (49.5, 55.0, "SPEAKER_01", "证据一是借款合同原件，证据二是人民币5万元的转账凭证，时间是3月5日。"),
    (55.5, 60.0, "SPEAKER_03", "我是证人，当时是我陪原告去银行转账的。"),
    (60.5, 63.0, "SPEAKER_00", "被告，对这份合同的真实性有无异议？"),
]
ROLES = {"SPEAKER_00": "judge", "SPEAKER_01": "plaintiff", "SPEAKER_02": "被告"}  # SPEAKER_03 has no role


def _transcript(lines: list[tuple[float, float, str | None, str]]) -> Transcript:
    segments = [Segment(start, end, text, speaker=speaker) for start, end, speaker, text in lines]
    return Transcript("".join(s.text for s in segments), "zh", lines[-1][1] if lines else 0.0, segments)


def _header() -> HearingHeader:
    return HearingHeader(
        case_number=CASE,
        court="北京市朝阳区人民法院",
        date="2024年5月20日",
        participants=[
            Participant("presiding_judge", "王某某"),
            Participant("clerk", "赵某"),
            Participant("plaintiff", "张某"),
            Participant("plaintiff_agent", "陈某（律师）"),
            Participant("defendant", "李某"),
        ],
    )


@pytest.fixture(scope="module")
def record() -> HearingRecord:
    return build_record(_transcript(DIALOGUE), _header(), ROLES)


# --------------------------------------------------------------------------------------------------------
# Utterances and roles
# --------------------------------------------------------------------------------------------------------


def test_merges_runs_of_one_speaker(record: HearingRecord) -> None:
    turns = [(u.speaker, u.role) for u in record.utterances]
    assert turns == [
        ("SPEAKER_00", "审判长"),
        ("SPEAKER_01", "原告"),
        ("SPEAKER_00", "审判长"),
        ("SPEAKER_02", "被告"),
        ("SPEAKER_02", "被告"),  # same speaker, but the pause was too long to merge
        ("SPEAKER_00", "审判长"),
        ("SPEAKER_01", "原告"),
        ("SPEAKER_03", "说话人1"),
        ("SPEAKER_00", "审判长"),
    ]
    first, second = record.utterances[:2]
    assert (first.start, first.end) == (0.0, 8.0)
    assert first.text == DIALOGUE[0][3] + DIALOGUE[1][3]
    assert (second.start, second.end) == (8.6, 21.0)
    assert record.duration == 63.0


def test_header_roles_are_shown_in_chinese(record: HearingRecord) -> None:
    roles = [p.role for p in record.header.participants]
    assert roles == ["审判长", "书记员", "原告", "原告代理人", "被告"]
    assert record.header.case_number == CASE


@pytest.mark.parametrize(
    ("role", "label"),
    [
        ("judge", "审判长"),
        ("Presiding Judge", "审判长"),
        ("associate_judge", "审判员"),
        ("defendant_agent", "被告代理人"),
        ("defender", "辩护人"),
        ("lawyer", "辩护人"),
        ("interpreter", "翻译"),
        ("书记员", "书记员"),
        ("mediator", "mediator"),
    ],
)
def test_role_label(role: str, label: str) -> None:
    assert role_label(role) == label


def test_speakers_without_role_are_numbered_by_first_appearance() -> None:
    lines = [(0.0, 1.0, "SPEAKER_05", "甲。"), (1.0, 2.0, "SPEAKER_00", "乙。"), (2.0, 3.0, "SPEAKER_02", "丙。")]
    lines += [(3.0, 4.0, "SPEAKER_05", "丁。"), (4.0, 5.0, None, "戊。")]
    record = build_record(_transcript(lines), HearingHeader(CASE), {"SPEAKER_00": "clerk", "SPEAKER_02": " "})
    assert [u.role for u in record.utterances] == ["说话人1", "书记员", "说话人2", "说话人1", "说话人3"]


def test_long_runs_are_split_and_blank_segments_skipped() -> None:
    sentence = "原告提交的银行流水能够证明借款已经实际交付。" * 5  # 110 characters
    lines = [(i * 5.0, i * 5.0 + 4.5, "SPEAKER_01", sentence) for i in range(5)]
    lines.insert(2, (9.8, 9.9, "SPEAKER_01", "  "))
    record = build_record(_transcript(lines), HearingHeader(CASE), {"SPEAKER_01": "plaintiff"})
    assert [len(u.text) for u in record.utterances] == [220, 220, 110]


def test_latin_words_keep_a_space_when_merged() -> None:
    lines = [
        (0.0, 1.0, "SPEAKER_00", "证据编号 A"),
        (1.0, 2.0, "SPEAKER_00", "B 组。"),
        (2.0, 3.0, "SPEAKER_00", "好。"),
    ]
    record = build_record(_transcript(lines), HearingHeader(CASE), {})
    assert record.utterances[0].text == "证据编号 A B 组。好。"


# --------------------------------------------------------------------------------------------------------
# Indexes
# --------------------------------------------------------------------------------------------------------


def test_keyword_index(record: HearingRecord) -> None:
    hits = {k.term: (k.count, k.utterances) for k in record.keywords}
    assert hits["借款合同"] == (2, [1, 6])
    assert hits["合同"] == (1, [8])  # only the bare 合同; those inside 借款合同 are not counted again
    assert hits["证据"] == (3, [5, 6])
    assert hits["申请回避"] == (2, [0, 1])
    assert "回避" not in hits
    assert hits["转账"] == (3, [3, 6, 7])
    for term in ("民间借贷", "诉讼请求", "事实与理由", "本金", "利息", "借条", "违约金", "举证", "质证", "真实性"):
        assert term in hits
    counts = [k.count for k in record.keywords]
    assert counts == sorted(counts, reverse=True)


def test_keyword_index_with_own_terms() -> None:
    hits = index_keywords(["张某向李某借款", "李某已还款"], ["李某", "借款", "", "李某"])
    assert [(k.term, k.count, k.utterances) for k in hits] == [("李某", 2, [0, 1]), ("借款", 1, [0])]


def test_amounts_and_dates(record: HearingRecord) -> None:
    assert [(m.text, m.utterance) for m in record.amounts] == [
        ("5万元", 1),
        ("2万元", 3),
        ("3万元", 3),
        ("人民币5万元", 6),
    ]
    assert [(m.text, m.utterance) for m in record.dates] == [
        ("2023年3月5日", 1),
        ("2023年9月5日", 1),
        ("今年3月", 3),
        ("3月5日", 6),
    ]
    first = record.amounts[0]
    assert record.utterances[first.utterance].text[first.offset :].startswith("5万元")


@pytest.mark.parametrize(
    ("text", "amounts"),
    [
        ("本金人民币50,000.00元整", ["人民币50,000.00元整"]),
        ("共计1.5亿元", ["1.5亿元"]),
        ("损失3000多元、5万余元", ["3000多元", "5万余元"]),
        ("转了¥3000和RMB 200", ["¥3000", "RMB 200"]),
        ("大概一两万元，还有十几万元", ["一两万元", "十几万元"]),
        ("花了三块五，又花了100块，一块钱", ["三块五", "100块", "一块钱"]),
        ("我们一块去的，这一块儿没问题", []),
        ("年利率12.5%，借期3个月", []),
    ],
)
def test_find_amounts(text: str, amounts: list[str]) -> None:
    assert [m.text for m in find_amounts([text])] == amounts


@pytest.mark.parametrize(
    ("text", "dates"),
    [
        ("2023年3月5日签订，2023年3月交付", ["2023年3月5日", "2023年3月"]),
        ("2023-03-05与2023/3/6", ["2023-03-05", "2023/3/6"]),
        ("3月15号还款，去年十二月一日催收", ["3月15号", "去年十二月一日"]),
        ("2020年起诉", ["2020年"]),
        ("13月5日、3月32日、3个月、12345号", []),
    ],
)
def test_find_dates(text: str, dates: list[str]) -> None:
    assert [m.text for m in find_dates([text])] == dates


@pytest.mark.timeout(120)  # a pattern that backtracks catastrophically never ends on these; speed is not tested
def test_patterns_finish_on_long_runs() -> None:
    texts = ["一" * 100_000, "1" * 100_000, "2023年" * 20_000, "借款合" * 30_000, "人民币" * 30_000]
    for text in texts:
        find_amounts([text])
        find_dates([text])
        index_keywords([text])


# --------------------------------------------------------------------------------------------------------
# Export
# --------------------------------------------------------------------------------------------------------


def _docx_text(path: Path) -> str:
    document = docx.Document(str(path))
    cells = [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    return "\n".join([p.text for p in document.paragraphs] + cells)


def _pdf_text(path: Path) -> tuple[int, str]:
    reader = PdfReader(str(path))
    text = "".join(page.extract_text() for page in reader.pages)
    # Wrapped lines come back with a line break or a space inside a sentence, and a page break puts the page number
    # there: drop both (the texts checked here have no spaces of their own).
    return len(reader.pages), re.sub(r"\s+|第\s*\d+\s*页", "", text)


def test_exports(record: HearingRecord, tmp_path: Path) -> None:
    paths = export_record(record, tmp_path / "out")
    assert paths == {name: tmp_path / "out" / f"record.{name}" for name in ("json", "docx", "pdf")}
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["record.docx", "record.json", "record.pdf"]

    data = json.loads(paths["json"].read_text(encoding="utf-8"))
    assert data == record.to_dict()
    assert HearingRecord.from_dict(data).to_dict() == data

    text = _docx_text(paths["docx"])
    for expected in (CASE, "北京市朝阳区人民法院", "原告代理人", "陈某（律师）", "说话人1", "关键词索引", "借款合同"):
        assert expected in text
    assert "[00:00:08] 原告：" + record.utterances[1].text in text
    first = next(p for p in docx.Document(str(paths["docx"])).paragraphs if p.text.startswith("[00:00:00]"))
    assert [(r.text, bool(r.bold)) for r in first.runs[:2]] == [("[00:00:00] ", False), ("审判长", True)]

    pages, pdf_text = _pdf_text(paths["pdf"])
    assert pages >= 1
    assert "12345" in pdf_text
    # reportlab writes STSong-Light text as UCS-2 with a standard CMap, which pypdf maps back to Unicode: the
    # Chinese comes back exactly, so the checks cover it and not only the ASCII.
    assert CASE in pdf_text
    assert "庭审笔录" in pdf_text
    assert "审判长：" + record.utterances[0].text in pdf_text


def test_pdf_wraps_long_lines_and_escapes_markup(tmp_path: Path) -> None:
    long_text = "被告辩称<借条>系受胁迫所写&其并未收到款项。" * 150  # about 3,300 characters in one utterance
    transcript = _transcript([(0.0, 600.0, "SPEAKER_02", long_text)])
    record = build_record(transcript, HearingHeader("<案号>&1"), {"SPEAKER_02": "defendant"})
    pages, text = _pdf_text(write_pdf(record, tmp_path / "long.pdf"))
    assert pages >= 2
    assert "<案号>&1" in text
    assert text.count("<借条>") == 150


def test_empty_transcript_still_exports(tmp_path: Path) -> None:
    record = build_record(Transcript("", "zh", 0.0), HearingHeader(CASE), {})
    assert (record.utterances, record.keywords, record.amounts, record.dates) == ([], [], [], [])
    paths = export_record(record, tmp_path)
    assert json.loads(paths["json"].read_text(encoding="utf-8"))["utterances"] == []
    assert "（无发言记录）" in _docx_text(paths["docx"])
    pages, text = _pdf_text(paths["pdf"])
    assert pages == 1
    assert CASE in text


def test_failed_export_keeps_the_previous_file(
    record: HearingRecord, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "record.pdf"
    target.write_bytes(b"previous")

    def crash(self: SimpleDocTemplate, *args: object, **kwargs: object) -> None:
        Path(self.filename).write_bytes(b"%PDF-half")
        raise RuntimeError("disk full")

    monkeypatch.setattr(SimpleDocTemplate, "build", crash)
    with pytest.raises(RuntimeError):
        write_pdf(record, target)
    assert [p.name for p in tmp_path.iterdir()] == ["record.pdf"]
    assert target.read_bytes() == b"previous"
