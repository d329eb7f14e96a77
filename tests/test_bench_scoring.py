"""Tests of the evaluation harness: normalization, error counts, manifest reading and report writing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shenggu.bench.manifest import ManifestEntry, ManifestError, load_manifest
from shenggu.bench.scoring import (
    ErrorCounts,
    cer,
    metric_name,
    normalize_en,
    normalize_zh,
    score,
    total,
    wer,
)
from shenggu.errors import InvalidOptionError, ShengguError
from shenggu.reports.page import write_html_report
from shenggu.reports.plots import bar_plot, scatter_plot
from shenggu.reports.results import write_results

# --------------------------------------------------------------------------------------------------------
# Mandarin normalization
# --------------------------------------------------------------------------------------------------------


def test_zh_removes_punctuation_spaces_and_converts_width_and_script() -> None:
    assert normalize_zh("對，這就是我！ 萬人敬仰的太乙真人。") == "对这就是我万人敬仰的太乙真人"
    assert normalize_zh("「你好」、ＡＢＣ？ hello world...") == "你好abchelloworld"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2023年", "二零二三年"),
        ("二〇二三年", "二零二三年"),
        ("12.5%", "百分之十二点五"),
        ("１２．５％", "百分之十二点五"),  # full-width digits and percent sign
        ("十二点五%", "百分之十二点五"),
        ("1234", "一千二百三十四"),
        ("10", "十"),
        ("15万", "十五万"),
        ("110", "一百一十"),
        ("1005", "一千零五"),
        ("10005", "一万零五"),
        ("100010000", "一亿零一万"),
        ("1,234,567", "一百二十三万四千五百六十七"),
        ("0.05", "零点零五"),
        ("3:15", "三点十五分"),
        ("3:05", "三点零五分"),
        ("1/2", "二分之一"),
        ("13800138000", "一三八零零一三八零零零"),  # identifiers are read digit by digit
        ("007", "零零七"),
        ("两千", "二千"),
    ],
)
def test_zh_numbers_are_read_in_chinese(text: str, expected: str) -> None:
    assert normalize_zh(text) == expected


@pytest.mark.parametrize(
    ("ref", "hyp"),
    [
        ("二零二三年三月五日", "2023年3月5日"),
        ("百分之十二点五", "12.5%"),
        ("对，这就是我，万人敬仰的太乙真人。", "對這就是我萬人敬仰的太乙真人"),
        ("会议三点十五分开始", "会议3:15开始"),
        ("七点半出发", "7:30出发"),
        ("两点半", "2点半"),
        ("换着喝", "換著喝"),
    ],
)
def test_zh_writing_differences_are_not_errors(ref: str, hyp: str) -> None:
    counts = score("zh", ref, hyp)
    assert counts.errors == 0
    assert counts.ref_len == len(normalize_zh(ref))


def test_zh_half_past_is_not_any_half() -> None:
    # 半 after 点 reads as thirty minutes only after a number; 一点半 vs 一点五 still differ.
    assert score("zh", "一点半", "一点五").errors > 0
    assert normalize_zh("半点") == "半点"


def test_zh_cer_counts_edit_kinds() -> None:
    # 线 for 现 is a substitution, the trailing 了 an insertion, the missing 的 a deletion.
    counts = score("zh", "甚至出现交易几乎停滞的情况。", "甚至出线交易几乎停滞情况了")
    assert (counts.substitutions, counts.deletions, counts.insertions) == (1, 1, 1)
    assert counts.ref_len == 13
    assert counts.rate == pytest.approx(3 / 13)


# --------------------------------------------------------------------------------------------------------
# English normalization
# --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ref", "hyp"),
    [
        ("TWO SIX FOUR EIGHT", "2648."),
        ("TWO SIX FOUR EIGHT", "Two thousand six hundred forty-eight."),
        ("MISTER QUILTER IS THE APOSTLE", "Mr. Quilter is the apostle"),
        ("it's ok", "It’s okay!"),
        ("we're just yknow", "We're just, y'know..."),
        ("fire fox", "Fire-fox"),
        ("the nineteenth century", "the 19th century"),
        ("the twentieth century", "the 20th century"),
        ("twenty twenty three", "2023"),
        ("nineteen oh five", "1905"),
        ("one hundred and five dollars", "$105"),
        ("five million dollars", "$5 million"),
        ("three point five percent", "3.5%"),
        ("uh this is um going to take forever", "This is going to take forever."),
        ("the colour grey", "the color gray"),
    ],
)
def test_en_writing_differences_are_not_errors(ref: str, hyp: str) -> None:
    assert score("en", ref, hyp).errors == 0, (normalize_en(ref), normalize_en(hyp))


def test_en_numbers_become_single_digits() -> None:
    assert normalize_en("TWO SIX FOUR EIGHT") == "2 6 4 8"
    assert normalize_en("2,648") == "2 6 4 8"
    assert normalize_en("twenty-first") == "2 1th"
    assert normalize_en("zero three five one") == "0 3 5 1"  # leading zeros are kept
    # Words that are not part of a number stay words.
    assert normalize_en("a hundred and one thousand") == "1 0 1 0 0 0"
    assert normalize_en("hundreds and thousands") == "hundreds and thousands"


def test_en_compounds_are_not_guessed() -> None:
    # Decision: "Firefox" and "Fire fox" differ (only hyphens split words). Joining or splitting compounds
    # would need a dictionary or a look at the other text; a 2-word reference read as 1 word costs 2 errors.
    counts = score("en", "Fire fox", "Firefox")
    assert (counts.substitutions, counts.deletions, counts.insertions) == (1, 1, 0)
    assert counts.rate == 1.0


def test_en_wer_counts_edit_kinds() -> None:
    # "big" inserted, "sat" → "sit" substituted, the second "the" deleted.
    counts = score("en", "The cat sat on the mat.", "the big cat sit on mat")
    assert (counts.substitutions, counts.deletions, counts.insertions) == (1, 1, 1)
    assert counts.ref_len == 6
    assert counts.rate == pytest.approx(0.5)


# --------------------------------------------------------------------------------------------------------
# Error counts
# --------------------------------------------------------------------------------------------------------


def test_raw_metrics_and_empty_texts() -> None:
    assert wer("a b c d", "a x c") == ErrorCounts.of(4, substitutions=1, deletions=1, insertions=0)
    assert cer("abcd", "abxcde") == ErrorCounts.of(4, substitutions=0, deletions=0, insertions=2)
    assert wer("", "") == ErrorCounts.of(0, 0, 0, 0)
    assert wer("", "").rate == 0.0
    assert wer("", "a b").insertions == 2
    assert wer("", "a b").rate == 1.0
    assert wer("a b", "").deletions == 2


def test_corpus_rate_is_sum_of_errors_over_sum_of_lengths() -> None:
    utterances = [score("en", "a b c d", "a b c x"), score("en", "a", "b c")]
    corpus = total(utterances)
    assert corpus == ErrorCounts.of(5, substitutions=2, deletions=0, insertions=1)
    assert corpus.rate == pytest.approx(3 / 5)
    assert corpus.to_dict()["rate"] == pytest.approx(3 / 5)


def test_language_dispatch() -> None:
    assert metric_name("zh") == "cer"
    assert metric_name("en-US") == "wer"
    assert score("zh-CN", "你好", "你号").errors == 1
    with pytest.raises(InvalidOptionError):
        score("fr", "bonjour", "bonjour")


# --------------------------------------------------------------------------------------------------------
# Manifest
# --------------------------------------------------------------------------------------------------------


def _check_manifest(manifest: Path, asr_rows: int | None = None) -> None:
    entries = load_manifest(manifest)
    assert entries and all(isinstance(e, ManifestEntry) and e.task == "asr" for e in entries)
    if asr_rows is not None:
        assert len(entries) == asr_rows
    assert {e.language for e in entries} == {"zh", "en"}
    assert {e.ref_quality for e in entries} <= {"A", "B", "C", "D"}
    assert len({e.id for e in entries}) == len(entries)
    first = entries[0]
    assert first.path.is_absolute()
    assert first.path == manifest.resolve().parent / "asr" / f"{first.id}.wav"
    assert all(e.path.is_file() and e.duration_s > 0 and e.reference_text for e in entries)
    # Every reference normalizes to something non-empty (nothing is lost by the scorer).
    assert all(score(e.language, e.reference_text, e.reference_text).ref_len > 0 for e in entries)
    everything = load_manifest(manifest, task=None)
    assert len(everything) > len(entries)
    assert {e.task for e in everything} >= {"asr", "diarization", "pronunciation"}


def test_load_bundled_manifest(data_dir: Path) -> None:
    _check_manifest(data_dir / "manifest.tsv", asr_rows=10)


def test_load_shared_manifest(eval_dir: Path) -> None:
    _check_manifest(eval_dir / "manifest.tsv")


HEADER = "id\tlanguage\ttask\tpath\tduration_s\treference_text\tref_quality\tnotes\n"


def _manifest(tmp_path: Path, body: str, header: str = HEADER) -> Path:
    path = tmp_path / "sub" / "manifest.tsv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header + body, encoding="utf-8")
    return path


def test_manifest_paths_resolve_against_its_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _manifest(
        tmp_path,
        'a\ten\tasr\twav/a.wav\t1.5\tHe said "hi"\tA\t\nb\tzh\tdiarization\tb.wav\t2\t\tB\tnote\n',
    )
    monkeypatch.chdir(tmp_path)  # resolution must not depend on the working directory
    (entry,) = load_manifest(path)
    assert entry.path == (tmp_path / "sub" / "wav" / "a.wav").resolve()
    assert entry.reference_text == 'He said "hi"'  # quotes are plain text in TSV
    assert entry.duration_s == 1.5
    assert [e.id for e in load_manifest(path, task=None)] == ["a", "b"]


@pytest.mark.parametrize(
    ("body", "header", "message"),
    [
        ("", HEADER.replace("\tnotes", ""), "missing column(s) notes"),
        ("a\ten\tasr\ta.wav\tlong\tx\tA\t\n", HEADER, "bad duration_s"),
        ("a\ten\tasr\ta.wav\t-1\tx\tA\t\n", HEADER, "bad duration_s"),
        ("a\ten\tasr\ta.wav\t1\tx\tA\n", HEADER, "line 2: 7 fields"),
        ("a\ten\tasr\ta.wav\t1\tx\tA\t\na\ten\tasr\ta.wav\t1\tx\tA\t\n", HEADER, "duplicate id 'a'"),
        ("\ten\tasr\ta.wav\t1\tx\tA\t\n", HEADER, "empty id"),
        ("", "", "empty manifest"),
    ],
)
def test_manifest_errors(tmp_path: Path, body: str, header: str, message: str) -> None:
    with pytest.raises(ManifestError, match=message.replace("(", r"\(").replace(")", r"\)")) as info:
        load_manifest(_manifest(tmp_path, body, header))
    assert isinstance(info.value, ShengguError)
    assert info.value.code == "bad_manifest"


def test_manifest_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="manifest not found"):
        load_manifest(tmp_path / "nope.tsv")


# --------------------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------------------


def test_report_smoke(tmp_path: Path) -> None:
    counts = score("zh", "甚至出现交易", "甚至出线交易")
    summary = {"engine": "test <engine>", "cer": counts.rate, "rtf": float("nan")}
    utterances = [{"id": "zh_a", "path": Path("/x/a.wav"), "hyp": "甚至出线交易", **counts.to_dict()}]
    results = write_results(tmp_path / "out", summary, utterances, extra={"config": {"beam": 5}})
    data = json.loads(results.read_text(encoding="utf-8"))
    assert data["summary"]["rtf"] is None  # NaN is not JSON
    assert data["utterances"][0]["path"] == "/x/a.wav"
    assert data["utterances"][0]["hyp"] == "甚至出线交易"
    assert data["config"] == {"beam": 5}
    assert "甚至" in results.read_text(encoding="utf-8")  # ensure_ascii=False
    with pytest.raises(ValueError):
        write_results(tmp_path, summary, utterances, extra={"summary": {}})

    figures = [
        bar_plot(["zh_a", "en_b"], [counts.rate, 0.1], "Error rate per clip", "rate"),
        scatter_plot([1.0, 2.0], [0.2, 0.1], "Error rate vs duration", "duration (s)", "rate"),
    ]
    assert all(f.png.startswith(b"\x89PNG") for f in figures)
    report = write_html_report(
        tmp_path / "out",
        "ASR <bench>",
        summary,
        figures,
        [("Utterances", ["id", "hyp", "rate"], [["zh_a", "甚至出线交易", counts.rate]])],
    )
    page = report.read_text(encoding="utf-8")
    assert report.name == "report.html"
    assert '<meta charset="utf-8">' in page
    assert page.count('<img alt="') == 2 and "data:image/png;base64," in page
    assert "ASR &lt;bench&gt;" in page and "<bench>" not in page
    assert "甚至出线交易" in page and "0.1667" in page
