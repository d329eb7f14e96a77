"""``shenggu medical`` as a user runs it: real subprocesses, the record files, one-line errors with exit code 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.medical_speech import dictation_wav

pytestmark = pytest.mark.slow  # every test runs the shenggu command in a new process

SHENGGU = [sys.executable, "-m", "shenggu", "medical"]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*SHENGGU, *args], capture_output=True, text=True, timeout=300, check=False)


def test_text_prints_the_record():
    proc = run("text", "主诉，发热三天。下一项。患者三天前受凉后出现发热，否认药物过敏史。")
    assert proc.returncode == 0, proc.stderr
    record = json.loads(proc.stdout)
    assert record["mode"] == "text"
    sections = {s["name"]: s["text"] for s in record["sections"]}
    assert list(sections)[:2] == ["主诉", "现病史"] and sections["主诉"] == "发热3天。"


def test_text_without_medical_content_says_why():
    proc = run("text", "明天下午三点在会议室开会。")
    assert proc.returncode == 0, proc.stderr
    record = json.loads(proc.stdout)
    assert record["sections"] == [] and record["reason"]


def test_dictate_writes_the_four_files(tmp_path):
    wav = tmp_path / "dictation.wav"
    wav.write_bytes(dictation_wav())
    out = tmp_path / "record"
    proc = run("dictate", str(wav), "--out", str(out), "--hotwords", "受凉")
    assert proc.returncode == 0, proc.stderr
    assert {p.name for p in out.iterdir()} == {"record.json", "record.docx", "record.pdf", "record.fhir.json"}
    assert proc.stdout.splitlines()[-1] == f"fhir: {out / 'record.fhir.json'}"
    record = json.loads((out / "record.json").read_text(encoding="utf-8"))
    assert record["mode"] == "dictation" and record["sections"] and record["duration"] > 3
    assert "发热" in json.dumps(record["sections"], ensure_ascii=False)
    bundle = json.loads((out / "record.fhir.json").read_text(encoding="utf-8"))
    assert bundle["resourceType"] == "Bundle" and bundle["entry"][0]["resource"]["resourceType"] == "Composition"


@pytest.mark.parametrize(
    ("command", "content", "code"),
    [
        ("dictate", None, "file_not_found"),
        ("dictate", b"", "empty_audio"),
        ("consult", b"just some text\n" * 50, "not_audio"),
    ],
)
def test_bad_recordings_give_one_line_and_exit_2(tmp_path: Path, command, content, code):
    path = tmp_path / "visit.wav"
    if content is not None:
        path.write_bytes(content)
    proc = run(command, str(path), "--out", str(tmp_path / "out"))
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {code}:"), proc.stderr
    assert not (tmp_path / "out").exists()


def test_a_missing_doctor_voice_is_one_line(tmp_path: Path):
    wav = tmp_path / "visit.wav"
    wav.write_bytes(dictation_wav())
    proc = run("consult", str(wav), "--out", str(tmp_path / "out"), "--doctor-voice", str(tmp_path / "nobody.wav"))
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("error: file_not_found:") and len(proc.stderr.strip().splitlines()) == 1


def test_bad_text_options_are_one_line():
    assert run("text", "  ").stderr.strip() == "error: invalid_option: the text is empty"
    proc = run("text", "发热", "--mode", "consultation")
    assert proc.returncode == 2 and "--mode must be text or dictation" in proc.stderr
