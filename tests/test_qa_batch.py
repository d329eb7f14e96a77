"""Batch quality inspection (shenggu/solutions/qa/batch.py, scorecards.py, report.py) and ``shenggu qa inspect``:
a folder of call JSON files plus a corrupt recording and a broken JSON (recorded, the batch goes on), metadata
joined from a CSV with a BOM, scorecards checked against numbers worked out by hand, Excel-safe CSVs, an HTML
report that escapes the transcripts, each finding linked to its moment of the recording (Media Fragments; the
command links relative to the report), and the command's exit codes. No model is loaded: the ruleset is written
here without matching by meaning, and the command's recognition is replaced."""

from __future__ import annotations

import csv
import html
import io
import json
import re
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import pytest
from typer.testing import CliRunner

from shenggu.audio.decode import decode_audio
from shenggu.cli.main import app
from shenggu.errors import InvalidOptionError
from shenggu.reports.spreadsheet_csv import spreadsheet_cell
from shenggu.solutions.qa import Call, Utterance, parse_rules_text
from shenggu.solutions.qa.batch import find_items, inspect_batch, read_call, read_metadata
from shenggu.solutions.qa.links import file_link, media_fragment, moment_link
from shenggu.solutions.qa.report import call_file_names, write_batch_report

RULES = """\
name: 测试规则
version: "2"
rules:
  - id: greeting
    name: 开场问候
    kind: required_phrase
    weight: 40
    within: {first: 15}
    meaning_threshold: null
    phrases: [您好，很高兴为您服务]
  - id: no_promises
    name: 禁止承诺收益
    kind: forbidden_phrase
    weight: 40
    phrases: [保证收益]
  - id: risk
    name: 风险提示
    kind: required_phrase
    weight: 20
    applies_if: [理财]
    meaning_threshold: null
    phrases: [投资有风险]
  - id: tags
    name: 标签
    kind: tag_keywords
    who: customer
    tags: {投诉: [投诉]}
"""
GREETING = "您好，很高兴为您服务"

# Four calls of 20 s. Worked out by hand: scores 100, 0, 80, 50 (see each call), talk ratios in the comments.
CALLS = {
    # all pass: 100. agent 8 s, customer 4 s → 0.4 / 0.2, silence 0.4
    "c1.json": [("agent", 0, 4, GREETING), ("customer", 4, 8, "我想买理财"), ("agent", 8, 12, "好的，投资有风险")],
    # no greeting, a promise (risk n/a): 0 of 80 → 0. agent 0.4, customer 0.2, overtalk 9–10 → 0.05, silence 0.45
    "c2.json": [("customer", 0, 2, "喂"), ("agent", 2, 10, "=1+1 保证收益"), ("customer", 9, 11, "好")],
    # 理财 without the disclosure: 80 of 100 → 80; tagged 投诉. agent 0.4, customer 0.3, silence 0.3
    "c3.json": [
        ("agent", 0, 4, GREETING),
        ("customer", 4, 10, "理财产品我要投诉"),
        ("agent", 10, 14, "好的我帮您记录"),
    ],
    # promises (risk n/a): 40 of 80 → 50. agent 0.5, customer 0, silence 0.5
    "sub/c4.json": [
        ("agent", 0, 4, GREETING),
        ("agent", 5, 9, "@SUM(A1)保证收益"),
        ("agent", 10, 12, "<script>alert(1)</script>保证收益"),
    ],
}
METADATA = (
    "File,Agent,Queue,Date,note\n"
    "c1.json,A,retail,2024/3/5,first\n"
    "c2.json,A,retail,2024-03-05,\n"
    "c3.json,B,vip,2024年3月6日,\n"
    "sub/c4.json,B,vip,,\n"
    "missing.json,C,retail,2024-03-07,\n"
)


def refuse_embedding(texts: Sequence[str]) -> np.ndarray:
    raise AssertionError(f"no rule here matches by meaning, asked to embed {list(texts)[:3]}")


def decoding_make_call(path: Path) -> Call:
    """Stands in for recognition, but really decodes the recording (so a corrupt file really fails)."""
    samples = decode_audio(path)
    return Call([Utterance("agent", 0.0, len(samples) / 16000, GREETING)])


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Four call JSON files (one in a sub-folder; c2 with metadata of its own), a recording of garbage bytes, a
    broken JSON file, and files that are no items."""
    root = tmp_path / "calls"
    for name, turns in CALLS.items():
        call = {"utterances": [{"role": r, "start": s, "end": e, "text": t} for r, s, e, t in turns], "duration": 20}
        if name == "c2.json":
            call["metadata"] = {"agent": "overridden by the CSV", "channel": "hotline"}
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(json.dumps(call, ensure_ascii=False), encoding="utf-8")
    (root / "broken.wav").write_bytes(bytes(range(256)) * 40)
    (root / "bad.json").write_text('{"utterances": [', encoding="utf-8")
    (root / "notes.txt").write_text("not an item")
    (root / "meta.csv").write_text(METADATA, encoding="utf-8-sig")
    return root


@pytest.fixture
def ruleset():
    return parse_rules_text(RULES, "rules.yaml")


@pytest.fixture
def batch(folder: Path, ruleset):
    items = find_items(folder, {".wav"})
    return inspect_batch(
        items,
        ruleset,
        decoding_make_call,
        root=folder,
        metadata=read_metadata(folder / "meta.csv"),
        embed=refuse_embedding,
    )


# --- the batch ---------------------------------------------------------------------------------------------------


def test_bad_items_are_recorded_and_the_batch_goes_on(folder: Path, ruleset) -> None:
    items = find_items(folder, {".wav"})
    assert [p.relative_to(folder).as_posix() for p in items] == [
        "bad.json", "broken.wav", "c1.json", "c2.json", "c3.json", "sub/c4.json",
    ]  # fmt: skip
    seen: list[tuple[str, bool]] = []
    batch = inspect_batch(
        items, ruleset, decoding_make_call, root=folder, embed=refuse_embedding, progress=lambda *a: seen.append(a)
    )
    assert [c.name for c in batch.calls] == ["c1.json", "c2.json", "c3.json", "sub/c4.json"]
    assert [c.result.score for c in batch.calls] == [100.0, 0.0, 80.0, 50.0]
    failures = {f.item: f for f in batch.failures}
    assert failures.keys() == {"bad.json", "broken.wav"}
    assert "not valid JSON" in failures["bad.json"].message
    assert failures["broken.wav"].code not in ("", "internal_error")  # the decoder's own error
    assert failures["broken.wav"].message
    assert seen == [("bad.json", False), ("broken.wav", False)] + [(c.name, True) for c in batch.calls]
    assert batch.summary()["items"] == 6 and batch.summary()["failed"] == 2


def test_recognized_calls_are_kept_so_a_second_run_recognizes_nothing(tmp_path: Path, ruleset) -> None:
    from shenggu.audio.decode import encode_wav

    root = tmp_path / "in"
    (root / "sub").mkdir(parents=True)
    for name in ("a.wav", "sub/b.wav"):
        (root / name).write_bytes(encode_wav(np.zeros(16000, np.float32)))
    (root / "broken.wav").write_bytes(bytes(range(256)) * 40)
    made: list[str] = []

    def counting(path: Path) -> Call:
        made.append(path.name)
        return decoding_make_call(path)

    kept = tmp_path / "recognized"
    items = find_items(root, {".wav"})
    first = inspect_batch(items, ruleset, counting, root=root, embed=refuse_embedding, recognized=kept)
    assert sorted(made) == ["a.wav", "b.wav", "broken.wav"] and len(first.calls) == 2
    assert (kept / "sub" / "b.wav.call.json").is_file() and not (kept / "broken.wav.call.json").exists()
    made.clear()
    second = inspect_batch(items, ruleset, counting, root=root, embed=refuse_embedding, recognized=kept)
    assert made == ["broken.wav"]  # only the failure is tried again
    assert [c.result.score for c in second.calls] == [c.result.score for c in first.calls]


def test_items_of_a_folder_leave_out_the_output_folder_and_a_missing_source_is_refused(folder: Path) -> None:
    (folder / "report" / "calls").mkdir(parents=True)
    (folder / "report" / "calls" / "c1.json").write_text("{}")
    names = [p.relative_to(folder).as_posix() for p in find_items(folder, (), skip=folder / "report")]
    assert "report/calls/c1.json" not in names and "c1.json" in names
    assert find_items(folder / "c1.json", ()) == [folder / "c1.json"]
    with pytest.raises(InvalidOptionError, match="no such file or folder"):
        find_items(folder / "nowhere", ())
    (folder / "empty").mkdir()
    with pytest.raises(InvalidOptionError, match="no recordings or call JSON"):
        find_items(folder / "empty", {".wav"})


def test_recordings_without_a_reader_fail_one_by_one(folder: Path, ruleset) -> None:
    batch = inspect_batch([folder / "broken.wav", folder / "c1.json"], ruleset, embed=refuse_embedding)
    assert [c.name for c in batch.calls] == ["c1.json"]
    assert batch.failures[0].item == "broken.wav" and "no recognizer" in batch.failures[0].message


def test_metadata_csv_with_bom_is_joined_by_relative_path(batch) -> None:
    by_name = {c.name: c for c in batch.calls}
    assert [(c.agent, c.queue, c.date) for c in batch.calls] == [
        ("A", "retail", "2024-03-05"),
        ("A", "retail", "2024-03-05"),
        ("B", "vip", "2024-03-06"),
        ("B", "vip", ""),
    ]
    assert by_name["c1.json"].result.metadata["note"] == "first"  # any other column comes along
    c2 = by_name["c2.json"].result.metadata
    assert c2["agent"] == "A" and c2["channel"] == "hotline"  # the CSV wins, the call's own metadata stays
    assert by_name["c2.json"].call.id == "c2.json"  # a call without an id is named by its item
    assert batch.unmatched_metadata == ["missing.json"]


def test_metadata_is_joined_by_file_name_when_the_csv_gives_no_folder(folder: Path, ruleset) -> None:
    (folder / "meta2.csv").write_text("file\tagent\nc4.json\tD\n", encoding="utf-8")
    batch = inspect_batch(
        [folder / "sub" / "c4.json"], ruleset, root=folder, metadata=read_metadata(folder / "meta2.csv"),
        embed=refuse_embedding,
    )  # fmt: skip
    assert batch.calls[0].agent == "D"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"name,agent\nc1.json,A\n", "no 'file' column (its columns: name, agent)"),
        (b"", "is empty"),
        (b"file,agent\nc1.json,A\nc1.json,B\n", "line 3: 'c1.json' is listed twice"),
        (b"file,agent\nc1.json,A,extra\n", "line 2: more cells than the header"),
        (b"file,agent\n,A\n", "line 2: the 'file' cell is empty"),
        (b'file,agent\nc1.json,"A\n', "not valid CSV"),
        (b"file,File\nc1.json,x\n", "file given twice"),
        ("file,agent\nc1.json,张三\n".encode("gb18030"), "not UTF-8"),
    ],
)
def test_bad_metadata_is_refused_naming_the_problem(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "meta.csv"
    path.write_bytes(content)
    with pytest.raises(InvalidOptionError, match=r"meta\.csv") as error:
        read_metadata(path)
    assert message in str(error.value)


def test_agent_scorecards_match_the_numbers_worked_out_by_hand(batch) -> None:
    a, b = batch.agents
    assert (a.name, a.calls, b.name, b.calls) == ("A", 2, "B", 2)
    assert a.mean_score == pytest.approx((100 + 0) / 2) and b.mean_score == pytest.approx((80 + 50) / 2)
    # pass rate over the calls where the rule applied; risk applied only where 理财 was said (c1 for A, c3 for B)
    assert a.pass_rates == pytest.approx({"greeting": 0.5, "no_promises": 0.5, "risk": 1.0})
    assert b.pass_rates == pytest.approx({"greeting": 1.0, "no_promises": 0.5, "risk": 0.0})
    assert (a.ratios.agent, a.ratios.customer) == pytest.approx((0.4, 0.2))
    assert (a.ratios.silence, a.ratios.overtalk) == pytest.approx(((0.4 + 0.45) / 2, (0 + 0.05) / 2))
    assert (b.ratios.agent, b.ratios.customer, b.ratios.silence) == pytest.approx(((0.4 + 0.5) / 2, 0.3 / 2, 0.4))
    assert [(q.name, q.calls) for q in batch.queues] == [("retail", 2), ("vip", 2)]


def test_failed_rules_trend_and_tags(batch) -> None:
    stats = {s.rule_id: (s.applied, s.failures) for s in batch.rules}
    assert stats == {"greeting": (4, 1), "no_promises": (4, 2), "risk": (2, 1)}  # tags do not score
    top = batch.top_failed_rules
    assert [(s.rule_id, s.failure_share) for s in top] == [("no_promises", 0.5), ("risk", 0.5), ("greeting", 0.25)]
    assert [(p.date, p.calls, p.mean_score) for p in batch.trend] == [("2024-03-05", 2, 50.0), ("2024-03-06", 1, 80.0)]
    assert batch.tags == {"投诉": 1}
    assert batch.mean_score == pytest.approx(57.5)


# --- the reports -------------------------------------------------------------------------------------------------


def read_csv(path: Path) -> list[dict[str, str]]:
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf"), f"{path.name} must start with the UTF-8 BOM"
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_report_files_are_excel_safe_and_complete(batch, tmp_path: Path) -> None:
    out = tmp_path / "out"
    files = write_batch_report(batch, out)
    calls = read_csv(out / "calls.csv")
    assert [(r["file"], r["agent"], r["date"], float(r["score"])) for r in calls] == [
        ("c1.json", "A", "2024-03-05", 100.0),
        ("c2.json", "A", "2024-03-05", 0.0),
        ("c3.json", "B", "2024-03-06", 80.0),
        ("sub/c4.json", "B", "", 50.0),
    ]
    verdicts = [(r["greeting"], r["no_promises"], r["risk"]) for r in calls]
    assert verdicts == [
        ("pass", "pass", "pass"),
        ("fail", "fail", "n/a"),
        ("pass", "pass", "fail"),
        ("pass", "fail", "n/a"),
    ]
    assert calls[2]["tags"] == "投诉" and calls[0]["note"] == "first"
    assert float(calls[1]["overtalk_ratio"]) == pytest.approx(0.05)

    said = [(r["file"], r["text"]) for r in read_csv(out / "findings.csv") if r["rule_id"] == "no_promises"]
    assert said == [  # text, never a formula
        ("c2.json", "'=1+1 保证收益"),
        ("sub/c4.json", "'@SUM(A1)保证收益"),
        ("sub/c4.json", "<script>alert(1)</script>保证收益"),
    ]

    agents = read_csv(out / "agents.csv")
    assert [(r["agent"], int(r["calls"]), float(r["mean_score"]), r["risk pass rate"]) for r in agents] == [
        ("A", 2, 50.0, "1.0"),
        ("B", 2, 65.0, "0.0"),
    ]
    rules = {r["rule_id"]: (int(r["applied"]), int(r["failures"])) for r in read_csv(out / "rules.csv")}
    assert rules == {"greeting": (4, 1), "no_promises": (4, 2), "risk": (2, 1)}
    failures = {r["file"]: r["message"] for r in read_csv(out / "failures.csv")}
    assert failures.keys() == {"bad.json", "broken.wav"} and "not valid JSON" in failures["bad.json"]

    document = json.loads((out / "batch.json").read_text(encoding="utf-8"))
    assert document["summary"]["calls"] == 4 and document["summary"]["failed"] == 2
    assert document["top_failed_rules"] == ["no_promises", "risk", "greeting"]
    assert document["calls"][3]["report"] == "calls/sub/c4.json"
    saved = json.loads((out / "calls" / "sub" / "c4.json").read_text(encoding="utf-8"))
    assert saved["result"]["score"] == 50.0
    assert read_call(out / "calls" / "c2.json") == batch.calls[1].call  # the call itself, judged again later
    assert files["html"] == out / "report.html"


def test_html_report_escapes_what_was_said_and_has_the_plots(batch, tmp_path: Path) -> None:
    page = (write_batch_report(batch, tmp_path / "out")["html"]).read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert" not in page
    assert page.count("<img") == 4  # score histogram, failed rules, score per agent, score per date
    assert "测试规则" in page and "禁止承诺收益" in page


def test_media_fragments_and_file_links() -> None:
    assert [media_fragment(5.5, 8.0), media_fragment(0.0), media_fragment(3.25, 3.25), media_fragment(1.23456)] == [
        "t=5.5,8", "t=0", "t=3.25", "t=1.235",
    ]  # fmt: skip
    assert moment_link("/a/b.wav", 2, 4.5) == "/a/b.wav#t=2,4.5"
    # a # or a space in a name is percent-encoded, so the fragment is the only one
    assert file_link(Path("/data/calls/录音 #1.wav"), Path("/data/out")) == "../calls/%E5%BD%95%E9%9F%B3%20%231.wav"


def hrefs(page: str) -> list[str]:
    """The links of a report page, unescaped."""
    return [html.unescape(h) for h in re.findall(r'<a href="([^"]*)"', page)]


def test_report_findings_link_to_their_moment_as_the_caller_says(batch, tmp_path: Path) -> None:
    asked: list[tuple[str, float, float | None]] = []

    def link(name: str, start: float, end: float | None) -> str | None:
        asked.append((name, start, end))
        return None if name == "c2.json" else f'/play?item={name}&x="<b>"#t={start}'

    files = write_batch_report(batch, tmp_path / "out", audio_link=link)
    findings = read_csv(files["findings_csv"])
    with_evidence = [r for r in findings if r["time"]]
    assert [(n, s) for n, s, _ in asked] == [(r["file"], float(r["time"])) for r in with_evidence]
    expected = [f'/play?item={r["file"]}&x="<b>"#t={r["time"]}' for r in with_evidence]
    assert [r["audio"] for r in with_evidence] == ["" if "c2.json" in e else e for e in expected]
    page = files["html"].read_text(encoding="utf-8")
    assert hrefs(page) == [r["audio"] for r in with_evidence if r["audio"]]
    assert "&lt;b&gt;" in page and '"<b>"' not in page  # the links are escaped like everything else


def test_spreadsheet_cells_neutralize_text_but_keep_numbers() -> None:
    assert [spreadsheet_cell(v) for v in ("=1+1", "-2", "+x", "\tx", "ok", -0.5, 3, None, float("nan"))] == [
        "'=1+1", "'-2", "'+x", "'\tx", "ok", "-0.5", "3", "", "",
    ]  # fmt: skip


def test_report_file_names_stay_apart() -> None:
    assert call_file_names(["a/b.wav", "c.json", "d.wav", "d.json"]) == {
        "a/b.wav": "a/b.json", "c.json": "c.json", "d.wav": "d.wav.json", "d.json": "d.json.json",
    }  # fmt: skip


# --- shenggu qa inspect ------------------------------------------------------------------------------------------

runner = CliRunner()


@pytest.fixture
def json_folder(folder: Path, tmp_path: Path) -> Path:
    """The calls of ``folder`` without its bad items (and the rules file beside it)."""
    (folder / "broken.wav").unlink()
    (folder / "bad.json").unlink()
    (tmp_path / "rules.yaml").write_text(RULES, encoding="utf-8")
    return folder


@pytest.mark.parametrize("command", [["qa", "inspect"], ["batch", "qa"]])
def test_cli_inspects_json_calls_and_writes_the_report(json_folder: Path, tmp_path: Path, command) -> None:
    out = tmp_path / "out"
    args = [str(json_folder), "--rules", str(tmp_path / "rules.yaml"), "--out", str(out)]
    result = runner.invoke(app, [*command, *args, "--metadata", str(json_folder / "meta.csv")])
    assert result.exit_code == 0, result.output
    assert "4 calls inspected" in result.stdout and "mean score 57.5" in result.stdout and "0 failed" in result.stdout
    assert "1 metadata row(s) name no item" in result.stderr
    assert {r["agent"] for r in read_csv(out / "calls.csv")} == {"A", "B"}
    assert (out / "report.html").is_file() and (out / "calls" / "sub" / "c4.json").is_file()


def test_cli_report_links_findings_to_the_recordings_relative_to_the_report(
    json_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recording = json_folder / "sub" / "录音 #1.wav"  # a # and a space: the link must encode them
    recording.write_bytes(b"not decoded: recognition is replaced below")

    def reader(options, agent_voice):  # stands in for recognition: a promise from 6.5 s to 9 s
        return lambda path: Call([Utterance("agent", 0, 4, GREETING), Utterance("agent", 6.5, 9, "保证收益")])

    monkeypatch.setattr("shenggu.cli.qa._recording_reader", reader)
    out = tmp_path / "out"
    args = [str(json_folder), "--rules", str(tmp_path / "rules.yaml"), "--out", str(out)]
    result = runner.invoke(app, ["qa", "inspect", *args])
    assert result.exit_code == 0, result.output

    (link,) = hrefs((out / "report.html").read_text(encoding="utf-8"))  # call JSON files have no recording
    path, fragment = link.split("#")
    assert fragment == "t=6.5" and not Path(unquote(path)).is_absolute()
    assert (out / unquote(path)).resolve() == recording.resolve()
    links = {(r["file"], r["audio"]) for r in read_csv(out / "findings.csv") if r["rule_id"] == "no_promises"}
    assert links == {("c2.json", ""), ("sub/c4.json", ""), ("sub/录音 #1.wav", link)}


def test_cli_exit_1_when_an_item_fails(json_folder: Path, tmp_path: Path) -> None:
    (json_folder / "bad.json").write_text("[1, 2]", encoding="utf-8")
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["qa", "inspect", str(json_folder), "--rules", str(tmp_path / "rules.yaml"), "--out", str(out)]
    )
    assert result.exit_code == 1, result.output
    assert "1 of 5 items failed" in result.stderr
    assert [r["file"] for r in read_csv(out / "failures.csv")] == ["bad.json"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rules", "{rules}"], "rules.yaml, line 3"),
        (["--source", "{missing}"], "no such file or folder"),
        (["--channels", "quad"], "channels must be one of"),
        (["--language", "fr"], "unsupported language"),
        (["--metadata", "{rules}"], "no 'file' column"),
    ],
)
def test_cli_bad_options_give_one_line_and_exit_2(
    json_folder: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    bad_rules = tmp_path / "bad" / "rules.yaml"
    bad_rules.parent.mkdir()
    bad_rules.write_text('name: x\nversion: "1"\nrules: [{id: a, kind: nonsense}]\n', encoding="utf-8")
    args = [a.format(rules=bad_rules, missing=tmp_path / "nowhere") for a in args]
    source = args[1] if args[0] == "--source" else str(json_folder)
    options = [] if args[0] == "--source" else args
    result = runner.invoke(app, ["qa", "inspect", source, "--out", str(tmp_path / "out"), *options])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in result.output
    assert not (tmp_path / "out").exists()  # refused before any work


def test_summaries_are_added_and_a_failing_model_costs_only_the_summary(folder: Path, ruleset) -> None:
    from shenggu.llm.types import LanguageModelError
    from shenggu.solutions.qa.summary import CallSummary

    items = find_items(folder, set())
    written = inspect_batch(
        items,
        ruleset,
        root=folder,
        embed=refuse_embedding,
        summarizer=lambda call: CallSummary("客户咨询。", ["编的。"]),
    )
    assert written.calls and all(c.result.summary == "客户咨询。" for c in written.calls)
    assert all(c.result.summary_dropped == ["编的。"] and not c.result.summary_error for c in written.calls)

    def broken(call: Call) -> CallSummary:
        raise LanguageModelError("the model is not loaded")

    failed = inspect_batch(items, ruleset, root=folder, embed=refuse_embedding, summarizer=broken)
    assert [c.name for c in failed.calls] == [c.name for c in written.calls]  # every call still inspected
    assert all(c.result.summary == "" and c.result.summary_error == "the model is not loaded" for c in failed.calls)
