"""``shenggu batch transcribe`` on this machine: outputs per input, failures that do not stop the batch, resume,
manifests, and bad invocations (one readable line, exit 2). The Ray path is in test_batch_ray.py."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shenggu.bench.manifest import load_manifest
from shenggu.bench.scoring import score
from shenggu.cli.main import app

pytestmark = pytest.mark.slow
runner = CliRunner()


@pytest.fixture(scope="module")
def archive(tmp_path_factory, data_dir: Path) -> Path:
    """A folder like a real archive: Mandarin clips at the top, English ones in a sub-folder, one broken file."""
    root = tmp_path_factory.mktemp("archive")
    (root / "calls").mkdir()
    for entry in load_manifest(data_dir / "manifest.tsv"):
        if entry.ref_quality == "A" and entry.duration_s < 8:
            target = root if entry.language == "zh" else root / "calls"
            shutil.copy(entry.path, target / entry.path.name)
    (root / "broken.wav").write_text("this is not audio")
    (root / "notes.txt").write_text("not a media file: not an input")
    return root


def _run(*args: str):
    return runner.invoke(app, ["batch", "transcribe", *args])


def test_every_file_gets_a_transcript_and_a_bad_one_is_listed(archive: Path, tmp_path: Path, data_dir: Path) -> None:
    out = tmp_path / "out"
    result = _run(str(archive), "--out", str(out), "--format", "json")
    assert result.exit_code == 1, result.output  # one file failed
    assert "1 of" in result.output and "failures.csv" in result.output
    references = {e.path.name: e for e in load_manifest(data_dir / "manifest.tsv")}
    outputs = sorted(out.rglob("*.json"))
    media = sorted(p for p in archive.rglob("*.wav") if p.name != "broken.wav")
    assert len(media) >= 4
    assert {p.relative_to(out).with_suffix("") for p in outputs if p.name != "batch.json"} == {
        p.relative_to(archive).with_suffix("") for p in media
    }
    errors = refs = 0
    for path in media:
        transcript = json.loads((out / path.relative_to(archive)).with_suffix(".json").read_text())
        entry = references[path.name]
        assert transcript["language"] == entry.language
        counts = score(entry.language, entry.reference_text, transcript["text"])
        errors, refs = errors + counts.errors, refs + counts.ref_len
    assert errors / refs < 0.2  # the same recognizer as `shenggu transcribe`: these clips are easy
    failures = (out / "failures.csv").read_text().splitlines()
    assert failures[0] == "path,code,message"
    assert failures[1].startswith("broken.wav,not_audio,")
    assert len(failures) == 2
    summary = json.loads((out / "batch.json").read_text())
    assert summary["files"] == len(media) + 1
    assert (summary["done"], summary["skipped"], summary["failed"]) == (len(media), 0, 1)
    assert summary["audio_seconds"] > 10 and summary["audio_hours_per_hour"] > 0
    assert summary["backend"] == "local"


def test_a_second_run_skips_what_is_done_and_retries_failures(archive: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    _run(str(archive), "--out", str(out), "--format", "txt")
    done = {p: p.stat().st_mtime_ns for p in out.rglob("*.txt")}
    (archive / "broken.wav").rename(archive / "broken.bak")  # the operator removes the bad file
    try:
        (done_first := next(iter(done))).unlink()  # and one transcript is lost
        result = _run(str(archive), "--out", str(out), "--format", "txt")
    finally:
        (archive / "broken.bak").rename(archive / "broken.wav")
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "batch.json").read_text())
    assert (summary["done"], summary["skipped"], summary["failed"]) == (1, len(done) - 1, 0)
    assert done_first.read_text().strip()
    for path, mtime in done.items():
        if path != done_first:
            assert path.stat().st_mtime_ns == mtime  # untouched
    assert (out / "failures.csv").read_text() == "path,code,message\n"


def test_a_manifest_names_the_files(tmp_path: Path, data_dir: Path) -> None:
    manifest = tmp_path / "list.tsv"
    wanted = [e for e in load_manifest(data_dir / "manifest.tsv") if e.language == "en"][:2]
    manifest.write_text("id\tpath\n" + "".join(f"{e.id}\t{e.path}\n" for e in wanted))  # absolute paths
    result = _run(str(manifest), "--out", str(tmp_path / "out"), "--format", "srt", "--language", "en")
    assert result.exit_code == 0, result.output
    for entry in wanted:
        assert "-->" in (tmp_path / "out" / entry.path.with_suffix(".srt").name).read_text()
    plain = tmp_path / "files.txt"  # one path per line, relative to the list's folder, with a comment
    (tmp_path / "a").mkdir()
    shutil.copy(wanted[0].path, tmp_path / "a" / "one.wav")
    plain.write_text("# today's calls\na/one.wav\n\n")
    result = _run(str(plain), "--out", str(tmp_path / "out2"), "--format", "txt")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out2" / "a" / "one.txt").read_text().strip()


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda d: (d / "missing", d / "out"), "no such file or folder"),
        (lambda d: (d, d / "out"), "must not be inside"),
        (lambda d: (d / "twice.txt", d / "out"), "would both be written"),
        (lambda d: (d / "empty", d / "out"), "no audio or video files"),
    ],
)
def test_bad_invocations_fail_before_any_work(tmp_path: Path, data_dir: Path, setup, message: str) -> None:
    clip = next(iter(load_manifest(data_dir / "manifest.tsv"))).path
    shutil.copy(clip, tmp_path / "a.wav")
    (tmp_path / "twice.txt").write_text("a.wav\na.wav\n")
    (tmp_path / "empty").mkdir()
    source, out = setup(tmp_path)
    result = _run(str(source), "--out", str(out))
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


def test_bad_options_fail_before_any_work(archive: Path, tmp_path: Path) -> None:
    for args, message in (
        (["--format", "docx"], "unknown output format"),
        (["--language", "fr"], "unsupported language"),
        (["--beam-size", "0"], "beam_size"),
    ):
        result = _run(str(archive), "--out", str(tmp_path / "out"), *args)
        assert result.exit_code == 2 and message in result.output, result.output
    assert not (tmp_path / "out").exists()


def test_failures_csv_cells_are_not_formulas(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "=cmd.wav").write_text("not audio")
    result = _run(str(tmp_path / "in"), "--out", str(tmp_path / "out"))
    assert result.exit_code == 1
    assert (tmp_path / "out" / "failures.csv").read_text().splitlines()[1].startswith("'=cmd.wav,not_audio,")


def test_bench_batch_reports_throughput_and_accuracy(tmp_path: Path, data_dir: Path) -> None:
    result = runner.invoke(
        app, ["bench", "batch", "--files", "3", "--manifest", str(data_dir / "manifest.tsv"), "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "results.json").read_text())["summary"]
    assert (summary["files"], summary["done"], summary["failed"], summary["backend"]) == (3, 3, 0, "local")
    assert summary["audio_hours_per_hour"] > 0 and summary["files_per_hour"] > 0
    assert summary["file_seconds_p50"] > 0 and summary["cluster_cpus"] is None
    rates = [summary["cer_zh"], summary["wer_en"]]
    assert any(rate is not None for rate in rates) and all(rate is None or rate < 0.3 for rate in rates)
    assert "<img" in (tmp_path / "report.html").read_text()
