"""The CLI as a user runs it: real subprocesses, one-line errors with exit code 2, the bench report."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # every test runs the shenggu command in a new process

SHENGGU = [sys.executable, "-m", "shenggu"]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*SHENGGU, *args], capture_output=True, text=True, timeout=300, check=False)


def test_transcribe_json(data_dir):
    proc = run(
        "transcribe", str(data_dir / "asr" / "zh_firered_BAC009S0764W0121.wav"), "--language", "zh", "--format", "json"
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["language"] == "zh" and "交易" in data["text"]


@pytest.mark.parametrize(
    ("content", "code"),
    [(None, "file_not_found"), (b"", "empty_audio"), (b"just some text\n" * 50, "not_audio")],
)
def test_bad_files_give_one_line_and_exit_2(tmp_path, content, code):
    path = tmp_path / "input.wav"
    if content is not None:
        path.write_bytes(content)
    proc = run("transcribe", str(path))
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {code}:"), proc.stderr


def test_bad_options_give_one_line(data_dir):
    wav = str(data_dir / "asr" / "zh_firered_BAC009S0764W0121.wav")
    for args, code in (
        (["--format", "doc"], "invalid_option"),
        (["--language", "fr"], "invalid_option"),
        (["--engine", "nope"], "invalid_option"),
        (["--engine", "sherpa-onnx", "--model-dir", "/nonexistent"], "model_error"),
    ):
        proc = run("transcribe", wav, *args)
        assert proc.returncode == 2 and proc.stderr.strip().startswith(f"error: {code}:"), proc.stderr


def test_engines_lists_bundled_and_pluggable():
    proc = run("engines")
    assert proc.returncode == 0
    for name in ("whisper-base", "whisper-tiny.en", "faster-whisper", "sherpa-onnx"):
        assert name in proc.stdout


def test_bench_asr_writes_results_and_report(data_dir, tmp_path: Path):
    out = tmp_path / "bench"
    proc = run("bench", "asr", "--manifest", str(data_dir / "manifest.tsv"), "--limit", "3", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    summary = results["summary"]
    assert 0.0 <= summary["zh"]["cer"] <= 1.0 and summary["zh"]["n"] == 3
    assert summary["en"]["n"] == 0 and "wer" in summary["en"]
    assert summary["rtf"] > 0 and summary["peak_rss_mb"] > 0
    assert len(results["utterances"]) == 3
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "<img" in html and "zh.cer" in html


def test_bench_with_missing_manifest_is_one_line(tmp_path):
    proc = run("bench", "asr", "--manifest", str(tmp_path / "none.tsv"), "--out", str(tmp_path / "o"))
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1


def test_speak_writes_audio_and_refuses_bad_input(tmp_path):
    out = tmp_path / "hello.mp3"
    proc = run("speak", "你好，欢迎使用声谷。", "--voice", "zm_yunxia", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert out.stat().st_size > 2000 and not list(tmp_path.glob(".*part"))
    bad = run("speak", "hello", "--voice", "nobody", "--out", str(tmp_path / "x.wav"))
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "unknown voice" in bad.stderr
    assert not (tmp_path / "x.wav").exists()
