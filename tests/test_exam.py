"""Classroom / exam oral scoring: an exam file, a class's recordings scored in batch, reports; and the
assessment API (sync and as a job)."""

from __future__ import annotations

import csv
import json
import shutil
import time

import numpy as np
import pytest
from typer.testing import CliRunner

from shenggu.audio import decode_audio
from shenggu.audio.decode import encode_wav
from shenggu.cli.main import app as cli
from shenggu.config import Settings, get_settings
from shenggu.errors import InvalidOptionError
from shenggu.service.app import create_app
from shenggu.solutions.exam import load_exam, score_class, write_reports
from shenggu.solutions.exam.exam import parse_exam
from tests.servers import call_as, running_server, tenant_keys

EN_CLIP, EN_TEXT = "so762_029810235", "Prayer is a source of strength and spirit."
ZH_CLIP, ZH_TEXT = "zh_wenet_BAC009S0724W0121", "广州市房地产中介协会分析"
EXAM = {
    "id": "g7-unit3",
    "title": "七年级口语测试",
    "items": [
        {"id": "read_en", "language": "en", "text": EN_TEXT, "weight": 2, "title": "Read aloud"},
        {"id": "read_zh", "language": "zh", "text": ZH_TEXT, "weight": 1, "title": "朗读"},
    ],
}


def audio_path(data_dir, clip_id):
    folder = "pronunciation" if clip_id.startswith("so762") else "asr"
    return data_dir / folder / f"{clip_id}.wav"


@pytest.fixture(scope="module")
def scored(data_dir, tmp_path_factory, recognizer):
    root = tmp_path_factory.mktemp("exam")
    (root / "exam.json").write_text(json.dumps(EXAM, ensure_ascii=False), encoding="utf-8")
    good, poor = root / "recordings" / "Alice", root / "recordings" / "Bob"
    good.mkdir(parents=True)
    poor.mkdir(parents=True)
    shutil.copy(audio_path(data_dir, EN_CLIP), good / "read_en.wav")
    shutil.copy(audio_path(data_dir, ZH_CLIP), good / "read_zh.wav")
    # Bob read another sentence for the English item and recorded nothing for the Mandarin one.
    shutil.copy(audio_path(data_dir, "so762_029810221"), poor / "read_en.wav")
    exam = load_exam(root / "exam.json")
    results = score_class(exam, root / "recordings", get_settings())
    files = write_reports(exam, results, root / "out")
    return exam, results, files, root


def test_a_class_is_scored(scored):
    _, results, _, _ = scored
    alice, bob = results
    assert (alice.student, bob.student) == ("Alice", "Bob")
    assert alice.items[0].total > 60 and alice.items[1].total > 60
    assert alice.total > bob.total + 30
    assert bob.items[1].total == 0 and bob.items[1].problem == "no recording"
    assert bob.items[0].assessment is not None and bob.items[0].total < alice.items[0].total


def test_reports(scored):
    _, _, files, root = scored
    rows = list(csv.reader(files["csv"].read_text(encoding="utf-8-sig").splitlines()))
    assert rows[0] == ["student", "read_en", "read_zh", "total", "problems"]
    assert [r[0] for r in rows[1:]] == ["Alice", "Bob"]
    assert "read_zh: no recording" in rows[2][4]
    page = (root / "out" / "students" / "Alice.html").read_text(encoding="utf-8")
    assert 'class="w good"' in page and "<img" in page
    summary = json.loads(files["results"].read_text(encoding="utf-8"))["summary"]
    assert summary["students"] == 2 and summary["missing_or_failed"] == 1
    assert "Score distribution" in files["html"].read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("exam", "message"),
    [
        ({"items": []}, "non-empty list"),
        ({"items": [{"id": "a", "language": "fr", "text": "x"}]}, "language"),
        ({"items": [{"id": "a", "language": "en", "text": " "}]}, "text"),
        ({"items": [{"id": "a", "language": "en", "text": "x", "weight": -1}]}, "weight"),
        ({"items": [{"id": "a", "language": "en", "text": "x"}, {"id": "a", "language": "en", "text": "y"}]}, "unique"),
        ({"items": [{"id": "a b", "language": "en", "text": "x"}]}, "id"),
    ],
)
def test_bad_exams_are_refused(exam, message):
    with pytest.raises(InvalidOptionError, match=message):
        parse_exam(exam)


def test_exam_cli(scored, tmp_path):
    _, _, _, root = scored
    runner = CliRunner()
    done = runner.invoke(cli, ["exam", "score", "--exam", str(root / "exam.json"), "--recordings",
                               str(root / "recordings"), "--out", str(tmp_path / "report")])  # fmt: skip
    assert done.exit_code == 0, done.output
    assert "2 students scored" in done.output
    (tmp_path / "bad.json").write_text("{not json", encoding="utf-8")
    bad = runner.invoke(cli, ["exam", "score", "--exam", str(tmp_path / "bad.json"), "--recordings",
                              str(root / "recordings"), "--out", str(tmp_path / "x")])  # fmt: skip
    assert bad.exit_code == 2 and bad.output.startswith("error: invalid_option")


# --------------------------------------------------------------------------------------------------------
# POST /v1/assessments
# --------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(recognizer, tmp_path_factory):
    settings = Settings(preload_models=False, job_workers=1, data_dir=tmp_path_factory.mktemp("data"))
    app = create_app(settings)
    keys = tenant_keys(app, "school")
    with running_server(app) as base:
        yield base, keys["school"]


def test_assessment_api_english_and_mandarin(server, data_dir):
    base, key = server
    with audio_path(data_dir, EN_CLIP).open("rb") as f:
        en = call_as(base, key, "POST", "/v1/assessments", files={"file": f}, data={"text": EN_TEXT, "language": "en"})
    assert en.status_code == 200, en.text
    body = en.json()
    assert {"accuracy", "fluency", "completeness", "prosodic", "total", "words"} <= body.keys()
    assert body["words"][0]["phones"] and "syllables" not in body["words"][0]
    with audio_path(data_dir, ZH_CLIP).open("rb") as f:
        zh = call_as(base, key, "POST", "/v1/assessments", files={"file": f}, data={"text": ZH_TEXT, "language": "zh"})
    assert zh.status_code == 200, zh.text
    syllable = zh.json()["words"][0]["syllables"][0]
    assert {"pinyin", "expected_tone", "detected_tone", "tone_correct"} <= syllable.keys()
    usage = call_as(base, key, "GET", "/v1/usage").json()
    assert "assess" in json.dumps(usage)


def test_assessment_api_bad_input(server, data_dir):
    base, key = server
    with audio_path(data_dir, EN_CLIP).open("rb") as f:
        no_text = call_as(base, key, "POST", "/v1/assessments", files={"file": f}, data={"text": " "})
    assert no_text.status_code == 400 and "text" in no_text.json()["error"]["message"]
    with audio_path(data_dir, EN_CLIP).open("rb") as f:
        bad_language = call_as(base, key, "POST", "/v1/assessments", files={"file": f},
                               data={"text": "hi", "language": "fr"})  # fmt: skip
    assert bad_language.status_code == 422
    silent = call_as(base, key, "POST", "/v1/assessments", files={"file": ("s.wav", encode_wav(np.zeros(32000)))},
                     data={"text": "hello"})  # fmt: skip
    assert silent.status_code == 422 and silent.json()["error"]["code"] == "no_speech"


def test_a_long_reading_becomes_a_job(server, data_dir):
    base, key = server
    clip = decode_audio(audio_path(data_dir, EN_CLIP))
    repeats = int(62 * 16000 / len(clip)) + 1  # over the 60 s synchronous limit
    long = encode_wav(np.concatenate([np.concatenate([clip, np.zeros(8000, np.float32)])] * repeats))
    accepted = call_as(base, key, "POST", "/v1/assessments", files={"file": ("long.wav", long)},
                       data={"text": " ".join([EN_TEXT] * repeats), "language": "en"})  # fmt: skip
    assert accepted.status_code == 202, accepted.text
    job_id = accepted.json()["id"]
    for _ in range(600):
        job = call_as(base, key, "GET", f"/v1/jobs/{job_id}").json()
        if job["status"] in ("succeeded", "failed"):
            break
        time.sleep(0.5)
    assert job["status"] == "succeeded", job
    assert job["task"] == "assess" and job["result"]["completeness"] > 80
