"""Hardening of pronunciation assessment (issue 15): quiet, hesitant and poor readings are scored (low where they
are poor), never refused as silent; only silence and faint noise are. One bad clip stops neither ``shenggu bench
assess`` nor an exam batch: it is recorded with its error and the run goes on."""

from __future__ import annotations

import itertools
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from shenggu.assess.english import get_english_assessor
from shenggu.assess.mandarin import MandarinAssessor
from shenggu.audio.decode import SAMPLE_RATE, decode_audio, encode_wav
from shenggu.audio.errors import SilentAudioError
from shenggu.audio.level import loudness, normalize_level
from shenggu.cli.main import app as cli
from shenggu.config import get_settings
from shenggu.solutions.exam import load_exam, score_class, write_reports

DATA = Path(__file__).parent / "data"
# A quiet, hesitant young learner (peaks at −21 dBFS, a 1.3 s pause before the second word); experts gave it 0/10.
# The old gate refused it as speechless once a click was on the recording.
QUIET_EN = DATA / "pronunciation" / "so762_014040088.wav"
QUIET_EN_TEXT = "HERE IS PETER'S SOCKS"
GOOD_EN = DATA / "pronunciation" / "so762_029810235.wav"
GOOD_EN_TEXT = "Prayer is a source of strength and spirit."
# Already a quiet recording (peaks at −30 dBFS): 20 dB further down, its peaks are at −70 dBFS.
QUIET_ZH = DATA / "asr" / "zh_mindaudio_BAC009S0002W0123.wav"
QUIET_ZH_TEXT = "也成为地方政府的眼中钉"


def _gain(samples: np.ndarray, db: float) -> np.ndarray:
    return (samples * 10 ** (db / 20)).astype(np.float32)


def _click(samples: np.ndarray) -> np.ndarray:
    """A single full-scale sample (a microphone knock) a third of the way in."""
    clicked = samples.copy()
    clicked[len(clicked) // 3] = 0.9
    return clicked


def _hesitate(samples: np.ndarray, at_s: list[float]) -> np.ndarray:
    """2 s of digital silence inserted at each of these times (between words)."""
    cuts = [0, *(int(t * SAMPLE_RATE) for t in at_s), len(samples)]
    pause = np.zeros(2 * SAMPLE_RATE, np.float32)
    pieces = [samples[a:b] for a, b in itertools.pairwise(cuts)]
    return np.concatenate([p for piece in pieces[:-1] for p in (piece, pause)] + [pieces[-1]])


def _room_tone(seconds: float) -> np.ndarray:
    """The quiet reading's own background (before its first word), repeated: a real room with nobody speaking."""
    background = decode_audio(QUIET_EN)[: int(1.2 * SAMPLE_RATE)]
    return np.resize(background, int(seconds * SAMPLE_RATE)).astype(np.float32)


SILENT = {
    "digital silence": lambda: np.zeros(4 * SAMPLE_RATE, np.float32),
    "16-bit dither": lambda: (np.random.default_rng(1).integers(-1, 2, 4 * SAMPLE_RATE) / 32768).astype(np.float32),
    "white noise at -60 dBFS": lambda: np.random.default_rng(2).normal(0, 1e-3, 4 * SAMPLE_RATE).astype(np.float32),
    "room tone": lambda: _room_tone(4.0),
}


# --------------------------------------------------------------------------------------------------------
# Level
# --------------------------------------------------------------------------------------------------------


def test_loudness_is_set_by_speech_not_by_a_click():
    reading = decode_audio(QUIET_EN)
    assert loudness(_click(reading)) == pytest.approx(loudness(reading), rel=0.05)
    # However loud it was recorded, the reading is heard at one level.
    assert np.allclose(normalize_level(_gain(reading, -30)), normalize_level(reading), atol=1e-5)
    assert normalize_level(np.zeros(SAMPLE_RATE, np.float32)) is None
    assert normalize_level(SILENT["16-bit dither"]()) is None
    assert normalize_level(np.zeros(0, np.float32)) is None


# --------------------------------------------------------------------------------------------------------
# English
# --------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def english():
    return get_english_assessor()


@pytest.fixture(scope="module")
def quiet_original(english):
    return english.assess(decode_audio(QUIET_EN), QUIET_EN_TEXT)


@pytest.mark.slow
def test_a_poor_quiet_reading_is_scored_low(quiet_original):
    assert quiet_original.total < 40
    assert any(w.error in ("omission", "mispronunciation") for w in quiet_original.words)


@pytest.mark.slow
@pytest.mark.parametrize(
    "variant",
    [
        pytest.param(lambda x: _gain(x, -20), id="-20dB"),
        pytest.param(lambda x: _gain(x, -30), id="-30dB"),
        pytest.param(lambda x: _click(x), id="click"),
        pytest.param(lambda x: _click(_gain(x, -20)), id="-20dB+click"),
        pytest.param(lambda x: _hesitate(_gain(x, -20), [1.68, 2.17]), id="-20dB+2s-pauses"),
    ],
)
def test_quiet_english_readings_are_scored_like_the_original(english, quiet_original, variant):
    result = english.assess(variant(decode_audio(QUIET_EN)), QUIET_EN_TEXT)
    assert 0.0 <= result.total <= quiet_original.total + 10, (result.total, quiet_original.total)
    assert 0.0 <= result.accuracy <= quiet_original.accuracy + 10
    assert any(w.error in ("omission", "mispronunciation") for w in result.words)


@pytest.mark.slow
def test_hesitations_cost_fluency(english):
    good = decode_audio(GOOD_EN)
    fluent = english.assess(good, GOOD_EN_TEXT)
    hesitant = english.assess(_hesitate(_gain(good, -20), [1.76, 2.2, 3.1]), GOOD_EN_TEXT)
    assert hesitant.fluency < fluent.fluency - 10, (hesitant.fluency, fluent.fluency)
    assert hesitant.accuracy >= fluent.accuracy - 15


@pytest.mark.slow
@pytest.mark.parametrize("kind", SILENT)
def test_english_silence_and_faint_noise_have_no_speech(english, kind):
    with pytest.raises(SilentAudioError):
        english.assess(SILENT[kind](), "hello world")


# --------------------------------------------------------------------------------------------------------
# Mandarin
# --------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mandarin(recognizer):
    return MandarinAssessor(recognizer)


def test_quiet_mandarin_readings_are_scored(mandarin):
    reading = decode_audio(QUIET_ZH)
    original = mandarin.assess(reading, QUIET_ZH_TEXT)
    for variant in (_gain(reading, -20), _click(_gain(reading, -40))):
        result = mandarin.assess(variant, QUIET_ZH_TEXT)
        assert abs(result.total - original.total) <= 10, (result.total, original.total)
        assert result.completeness == original.completeness


@pytest.mark.parametrize("kind", SILENT)
def test_mandarin_silence_and_faint_noise_have_no_speech(mandarin, kind):
    with pytest.raises(SilentAudioError):
        mandarin.assess(SILENT[kind](), QUIET_ZH_TEXT)


# --------------------------------------------------------------------------------------------------------
# shenggu bench assess on a manifest from elsewhere
# --------------------------------------------------------------------------------------------------------

MANIFEST_HEADER = "id\tlanguage\ttask\tpath\tduration_s\treference_text\tref_quality\tnotes\n"


def _expert(clip_id: str, text: str, total: float) -> dict:
    """A speechocean762-style scores row (made up: the test checks the run, not the correlations)."""
    words = [
        {"text": w, "accuracy": total, "phones": ["AH0"] * 2, "phones_accuracy": [total / 5] * 2} for w in text.split()
    ]
    utterance = dict.fromkeys(("accuracy", "fluency", "completeness", "prosodic", "total"), total)
    return {"id": clip_id, "utt": clip_id[-9:], **utterance, "words": words}


@pytest.mark.slow
def test_bench_assess_records_bad_clips_and_goes_on(tmp_path):
    (tmp_path / "pronunciation").mkdir()
    shutil.copy(GOOD_EN, tmp_path / "pronunciation" / "good.wav")
    shutil.copy(QUIET_EN, tmp_path / "pronunciation" / "quiet.wav")
    (tmp_path / "pronunciation" / "silent.wav").write_bytes(encode_wav(np.zeros(3 * SAMPLE_RATE, np.float32)))
    (tmp_path / "pronunciation" / "text.wav").write_text("not a recording\n", encoding="utf-8")
    good_text = "PRAYER IS A SOURCE OF STRENGTH AND SPIRIT"
    rows = [  # id, language, task, path, text
        ("so762_029810235", "en", "pronunciation", "pronunciation/good.wav", good_text),
        ("so762_014040088", "en", "pronunciation", "pronunciation/quiet.wav", QUIET_EN_TEXT),
        ("so762_000000001", "en", "pronunciation", "pronunciation/silent.wav", "HELLO WORLD"),
        ("so762_000000002", "en", "pronunciation", "pronunciation/missing.wav", "HELLO WORLD"),
        ("so762_000000003", "en", "pronunciation", "pronunciation/text.wav", "HELLO WORLD"),
        ("so762_000000004", "en", "pronunciation", "pronunciation/good.wav", good_text),  # no expert scores
        ("zh_read", "zh", "pronunciation", "pronunciation/good.wav", "广州"),
        ("asr_clip", "en", "asr", "asr/elsewhere.wav", "some words"),
        ("dia_clip", "en", "diarization", "diarization/elsewhere.wav", ""),
    ]
    manifest = tmp_path / "manifest.tsv"
    manifest.write_text(MANIFEST_HEADER + "".join(f"{i}\t{lang}\t{task}\t{path}\t4.0\t{text}\tA\t\n"
                                                  for i, lang, task, path, text in rows), encoding="utf-8")  # fmt: skip
    scored = {i: text for i, lang, task, _, text in rows[:5]}
    scores = [_expert(i, text, 2.0 if i == "so762_014040088" else 8.0) for i, text in scored.items()]
    (tmp_path / "pronunciation" / "scores.jsonl").write_text("\n".join(map(json.dumps, scores)), encoding="utf-8")

    out = tmp_path / "out"
    done = CliRunner().invoke(cli, ["bench", "assess", "--manifest", str(manifest), "--out", str(out)])
    assert done.exit_code == 0, done.output
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    summary = results["summary"]
    assert summary["n"] == 2 and summary["failed"] == 3 and summary["skipped"] == 2, summary
    assert [u["id"] for u in results["utterances"]] == ["so762_029810235", "so762_014040088"]
    errors = {f["id"]: f["error"]["code"] for f in results["failures"]}
    assert errors == {"so762_000000001": "no_speech", "so762_000000002": "file_not_found",
                      "so762_000000003": "not_audio"}  # fmt: skip
    assert {s["id"] for s in results["skipped"]} == {"so762_000000004", "zh_read"}
    assert all(u["heldout"] is None for u in results["utterances"])  # two speakers: too few to hold one out
    assert "Failed clips" in (out / "report.html").read_text(encoding="utf-8")

    # A broken scores file is one readable line and exit code 2, not a stack trace.
    (tmp_path / "pronunciation" / "scores.jsonl").write_text('{"id": "so762_029810235"}\n{not json\n')
    broken = CliRunner().invoke(cli, ["bench", "assess", "--manifest", str(manifest), "--out", str(out)])
    assert broken.exit_code == 2 and broken.output.startswith("error: bad_manifest"), broken.output
    assert "scores.jsonl: line 2" in broken.output


# --------------------------------------------------------------------------------------------------------
# Exam batch
# --------------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_an_exam_batch_survives_broken_recordings(tmp_path, monkeypatch):
    import shenggu.solutions.exam.scoring as scoring

    exam_file = tmp_path / "exam.json"
    exam_file.write_text(
        json.dumps({"id": "quiz", "items": [{"id": "read", "language": "en", "text": GOOD_EN_TEXT}]}), encoding="utf-8"
    )
    recordings = tmp_path / "recordings"
    for student in ("Alice", "Bob", "Carol", "Dan"):
        (recordings / student).mkdir(parents=True)
    shutil.copy(GOOD_EN, recordings / "Alice" / "read.wav")
    (recordings / "Bob" / "read.wav").write_text("this is a text file\n", encoding="utf-8")
    (recordings / "Carol" / "read.wav").write_bytes(encode_wav(np.full(SAMPLE_RATE, 0.1, np.float32)))
    shutil.copy(QUIET_EN, recordings / "Dan" / "read.wav")

    real = scoring.get_assessor

    class CrashesOnOneSecond:
        """The real assessor, except that it fails as nothing foresaw on Carol's one-second recording."""

        def assess(self, samples: np.ndarray, text: str):
            if len(samples) == SAMPLE_RATE:
                raise RuntimeError("decoder crashed")
            return real("en", get_settings()).assess(samples, text)

    monkeypatch.setattr(scoring, "get_assessor", lambda language, settings: CrashesOnOneSecond())
    exam = load_exam(exam_file)
    results = score_class(exam, recordings, get_settings())
    files = write_reports(exam, results, tmp_path / "out")

    alice, bob, carol, dan = results
    assert alice.total > 60 and dan.items[0].assessment is not None and dan.total < alice.total
    assert (bob.items[0].code, bob.items[0].total) == ("not_audio", 0.0)
    assert carol.items[0].code == "internal_error" and "decoder crashed" in carol.items[0].problem
    document = json.loads(files["results"].read_text(encoding="utf-8"))
    assert document["summary"]["students"] == 4 and document["summary"]["missing_or_failed"] == 2
    rows = {row["student"]: row for row in document["utterances"]}
    assert rows["Bob"]["items"]["read"]["error"]["code"] == "not_audio"
    assert rows["Carol"]["items"]["read"]["error"] == {"code": "internal_error", "message": carol.items[0].problem}
