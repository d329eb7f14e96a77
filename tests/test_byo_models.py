"""Bring your own model: a sherpa-onnx SenseVoice or Paraformer directory and a CTranslate2 Whisper directory, given
by path, run end to end through ``/v1/audio/transcriptions``, the streaming WebSocket, async jobs and the CLI.

The sherpa-onnx directories are tiny models built here in the published format (``tests/sherpa_models.py``): they
tell plain speech (说) from speech under a 6 kHz whistle (哨), so the exact text is known and any mis-wiring shows.
The Whisper directory is the bundled tiny.en laid out as a user's own (``model.bin`` linked, not copied).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
from websockets.sync.client import connect

from shenggu.asr.pipeline import TranscribeOptions, transcribe
from shenggu.asr.registry import get_recognizer
from shenggu.asr.types import DecodeOptions
from shenggu.audio import decode_audio
from shenggu.audio.decode import encode_wav
from shenggu.bench.manifest import load_manifest
from shenggu.bench.scoring import score
from shenggu.config import Settings, get_settings
from shenggu.errors import ModelError
from shenggu.service.app import create_app
from tests import sherpa_models
from tests.servers import running_server

SPEECH, WHISTLE, WHISTLE_HZ = sherpa_models.SPEECH, sherpa_models.WHISTLE, sherpa_models.WHISTLE_HZ
BUILDERS = {"sense_voice": sherpa_models.build_sense_voice, "paraformer": sherpa_models.build_paraformer}
# (language, text) each kind gives for each clip: SenseVoice detects the language (whistled → en), Paraformer is zh.
EXPECTED = {
    "sense_voice": {"plain": ("zh", SPEECH), "whistled": ("en", "whistle")},
    "paraformer": {"plain": ("zh", SPEECH), "whistled": ("zh", WHISTLE)},
}
ZH_CLIP = "zh_wenet_BAC009S0724W0121"
EN_CLIP = "en_qwenaudio_librispeech_1272-128104-0000"
SHENGGU = [sys.executable, "-m", "shenggu"]


def needs(*packages: str) -> None:
    """Skip, saying why, where the test extra (onnx to build the models, sherpa-onnx to run them) is missing."""
    for package in packages:
        pytest.importorskip(package, reason=f"needs the {package} package: pip install -e '.[dev]'")


@pytest.fixture(scope="module")
def clips(data_dir) -> dict[str, np.ndarray]:
    """A Mandarin sentence as recorded, and the same under a whistle of amplitude 0.05."""
    plain = decode_audio(data_dir / "asr" / f"{ZH_CLIP}.wav")
    whistle = 0.05 * np.sin(2 * np.pi * WHISTLE_HZ * np.arange(len(plain)) / 16000)
    return {"plain": plain, "whistled": (plain + whistle).astype(np.float32)}


def words_of(text: str) -> str:
    return text.strip(" 。.")


# ---------------------------------------------------------------------------------------------------- engine


@pytest.mark.parametrize("kind", list(BUILDERS))
def test_kind_comes_from_the_model_not_the_directory_name(kind, tmp_path, clips):
    """A SenseVoice directory called ``asr`` and a Paraformer one called ``sense-voice`` (with a config.txt that
    says so) are each run as what their ONNX metadata says they are."""
    needs("onnx", "sherpa_onnx")
    misleading = {"sense_voice": "asr", "paraformer": "sense-voice-zh"}[kind]
    model_dir = BUILDERS[kind](tmp_path / misleading)
    (model_dir / "config.txt").write_text("--model-type=sense_voice\n", encoding="utf-8")
    engine = get_recognizer("sherpa-onnx", model_dir, settings=get_settings())
    assert engine.kind == kind
    batch = engine.decode_chunks([clips["plain"], clips["whistled"], clips["plain"]], DecodeOptions())
    expected = [EXPECTED[kind][clip][1] for clip in ("plain", "whistled", "plain")]
    assert [r.segments[0].text for r in batch] == expected  # one batch, results in the chunks' order
    for clip, (language, text) in EXPECTED[kind].items():
        wav = encode_wav(clips[clip])
        transcript = transcribe(wav, engine, TranscribeOptions())
        assert (transcript.language, words_of(transcript.text)) == (language, text), clip


def test_sherpa_onnx_directories_it_would_exit_on_are_model_errors(tmp_path):
    """sherpa-onnx ends the process when a metadata key is missing: the engine checks them first."""
    needs("onnx", "sherpa_onnx")
    import onnx

    model_dir = sherpa_models.build_sense_voice(tmp_path / "sense")
    model = onnx.load(str(model_dir / "model.int8.onnx"))
    kept = [p for p in model.metadata_props if p.key != "lang_yue"]
    del model.metadata_props[:]
    model.metadata_props.extend(kept)
    onnx.save(model, str(model_dir / "model.int8.onnx"))
    with pytest.raises(ModelError, match=r"SenseVoice model: its metadata lacks lang_yue"):
        get_recognizer("sherpa-onnx", model_dir, settings=get_settings())

    paraformer = sherpa_models.build_paraformer(tmp_path / "para")
    (paraformer / "tokens.txt").write_text("<blank> 0\n<s> 1\n说 2\n哨 3\n", encoding="utf-8")
    with pytest.raises(ModelError, match=r"no </s> token"):
        get_recognizer("sherpa-onnx", paraformer, settings=get_settings())

    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "tokens.txt").write_text("<blank> 0\n", encoding="utf-8")
    (tmp_path / "junk" / "model.onnx").write_bytes(b"\x0a\xff\xff\xff\x0f not a protobuf")
    with pytest.raises(ModelError, match=r"not a readable ONNX model"):
        get_recognizer("sherpa-onnx", tmp_path / "junk", settings=get_settings())


def test_onnx_metadata_is_read_without_loading_the_model(tmp_path):
    needs("onnx")
    import onnx

    from shenggu.asr.onnx_metadata import read_onnx_metadata

    for build in BUILDERS.values():
        path = build(tmp_path / build.__name__) / "model.int8.onnx"
        expected = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
        assert read_onnx_metadata(path) == expected and "neg_mean" in expected


# ------------------------------------------------------------------------------------------------ sherpa-onnx


@pytest.fixture(scope="module", params=list(BUILDERS))
def sherpa_server(request, tmp_path_factory):
    """A server whose default engine is sherpa-onnx over a tiny model directory (SenseVoice, then Paraformer)."""
    needs("onnx", "sherpa_onnx")
    model_dir = BUILDERS[request.param](tmp_path_factory.mktemp("models") / "asr")
    settings = Settings(
        preload_models=False,
        dev_mode=True,
        job_workers=1,
        asr_engine="sherpa-onnx",
        asr_model_dir=model_dir,
        data_dir=tmp_path_factory.mktemp("data"),
    )
    with running_server(create_app(settings)) as base:
        yield base, request.param


def verbose_transcription(base: str, wav: bytes, **data: str) -> dict:
    response = httpx.post(
        f"{base}/v1/audio/transcriptions",
        files={"file": ("a.wav", wav)},
        data={"response_format": "verbose_json", **data},
        timeout=120,
    )
    assert response.status_code == 200, response.text
    return response.json()


def stream_finals(base: str, audio: np.ndarray, query: str = "") -> list[dict]:
    pcm = (np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes()
    with connect(f"{base.replace('http://', 'ws://')}/v1/audio/stream?{query}", open_timeout=10) as ws:
        for i in range(0, len(pcm), 3200):
            ws.send(pcm[i : i + 3200])
        ws.send(json.dumps({"type": "end"}))
        messages = []
        while not messages or messages[-1]["type"] not in ("done", "error"):
            messages.append(json.loads(ws.recv(timeout=120)))
    assert messages[-1]["type"] == "done", messages
    return [m for m in messages if m["type"] == "final"]


def job_result(base: str, wav: bytes, **data: str) -> dict:
    response = httpx.post(f"{base}/v1/jobs", files={"file": ("a.wav", wav)}, data=data, timeout=60)
    assert response.status_code == 202, response.text
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        job = httpx.get(f"{base}/v1/jobs/{response.json()['id']}").json()
        if job["status"] in ("succeeded", "failed", "cancelled"):
            assert job["status"] == "succeeded", job
            return job["result"]
        time.sleep(0.2)
    raise TimeoutError(response.json()["id"])


@pytest.mark.slow
def test_sherpa_onnx_transcriptions(sherpa_server, clips):
    base, kind = sherpa_server
    for clip, (language, text) in EXPECTED[kind].items():
        result = verbose_transcription(base, encode_wav(clips[clip]))
        assert (result["language"], words_of(result["text"])) == (language, text), clip
        assert result["segments"] and result["segments"][0]["end"] <= result["duration"] + 0.01


@pytest.mark.slow
def test_sherpa_onnx_stream_gives_each_sentence_in_order(sherpa_server, clips):
    base, kind = sherpa_server
    gap = np.zeros(int(1.5 * 16000), np.float32)
    finals = stream_finals(base, np.concatenate([clips["plain"], gap, clips["whistled"], gap]))
    expected = [EXPECTED[kind]["plain"][1], EXPECTED[kind]["whistled"][1]]
    assert [words_of(m["text"]) for m in finals] == expected, finals
    assert finals[0]["end"] <= finals[1]["start"]


@pytest.mark.slow
def test_sherpa_onnx_jobs(sherpa_server, clips):
    base, kind = sherpa_server
    result = job_result(base, encode_wav(clips["whistled"]))
    assert (result["language"], words_of(result["text"])) == EXPECTED[kind]["whistled"]


@pytest.mark.slow
def test_sherpa_onnx_cli(tmp_path, clips):
    needs("onnx", "sherpa_onnx")
    model_dir = sherpa_models.build_sense_voice(tmp_path / "model")
    wav = tmp_path / "whistled.wav"
    wav.write_bytes(encode_wav(clips["whistled"]))
    args = ["transcribe", str(wav), "--engine", "sherpa-onnx", "--model-dir", str(model_dir), "--format", "json"]
    proc = subprocess.run([*SHENGGU, *args], capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert (result["language"], words_of(result["text"])) == EXPECTED["sense_voice"]["whistled"]


# ------------------------------------------------------------------------------------ CTranslate2 Whisper by path


@pytest.fixture(scope="module")
def whisper_dir(tmp_path_factory) -> Path:
    """The bundled tiny.en as a user's CTranslate2 directory: model.bin linked, the small files copied."""
    from shenggu.asr.models import whisper_tiny_en_dir

    bundled = whisper_tiny_en_dir()
    target = tmp_path_factory.mktemp("models") / "my-whisper-ct2"
    target.mkdir()
    (target / "model.bin").symlink_to(bundled / "model.bin")
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        shutil.copy(bundled / name, target / name)
    return target


@pytest.mark.parametrize(("left_out", "named"), [("vocabulary.txt", "vocabulary"), ("tokenizer.json", "tokenizer")])
def test_whisper_directory_without_a_file_it_needs_is_a_model_error(whisper_dir, tmp_path, left_out, named):
    """CTranslate2 cannot load a model without its vocabulary; faster-whisper would fetch a missing tokenizer.json
    from the hub. Both are refused before loading, in one line."""
    partial = tmp_path / "partial"
    partial.mkdir()
    for path in whisper_dir.iterdir():
        if path.name != left_out:
            (partial / path.name).symlink_to(path)
    with pytest.raises(ModelError, match=rf"CTranslate2 model directory \(missing {named}"):
        get_recognizer("faster-whisper", partial, settings=get_settings())


@pytest.fixture(scope="module")
def en_reference(data_dir) -> str:
    return next(e.reference_text for e in load_manifest(data_dir / "manifest.tsv", task=None) if e.id == EN_CLIP)


@pytest.fixture(scope="module")
def whisper_server(whisper_dir, tmp_path_factory):
    """A server configured the way an operator would: SHENGGU_ASR_ENGINE and SHENGGU_ASR_MODEL_DIR."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("SHENGGU_ASR_ENGINE", "faster-whisper")
        env.setenv("SHENGGU_ASR_MODEL_DIR", str(whisper_dir))
        settings = Settings(
            preload_models=False, dev_mode=True, job_workers=1, data_dir=tmp_path_factory.mktemp("data")
        )
    assert settings.asr_model_dir == whisper_dir
    with running_server(create_app(settings)) as base:
        yield base


# tiny.en reads this LibriSpeech sentence without an error (measured over HTTP, stream, job and CLI); 0.2 leaves
# room for decoding changes and still fails a model that does not recognize it.
MAX_WER = 0.2


@pytest.mark.slow
def test_whisper_directory_transcriptions(whisper_server, data_dir, en_reference):
    wav = (data_dir / "asr" / f"{EN_CLIP}.wav").read_bytes()
    result = verbose_transcription(whisper_server, wav, language="en")
    assert score("en", en_reference, result["text"]).rate <= MAX_WER, result["text"]
    # The server runs the user's English-only model, not the bundled multilingual default.
    zh = (data_dir / "asr" / f"{ZH_CLIP}.wav").read_bytes()
    refused = httpx.post(
        f"{whisper_server}/v1/audio/transcriptions", files={"file": ("a.wav", zh)}, data={"language": "zh"}, timeout=60
    )
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "invalid_option"
    assert "cannot transcribe language 'zh'" in refused.json()["error"]["message"]


@pytest.mark.slow
def test_whisper_directory_stream(whisper_server, data_dir, en_reference):
    audio = np.concatenate([decode_audio(data_dir / "asr" / f"{EN_CLIP}.wav"), np.zeros(16000, np.float32)])
    finals = stream_finals(whisper_server, audio, "language=en")
    text = " ".join(m["text"] for m in finals)
    assert score("en", en_reference, text).rate <= MAX_WER, text


@pytest.mark.slow
def test_whisper_directory_jobs(whisper_server, data_dir, en_reference):
    result = job_result(whisper_server, (data_dir / "asr" / f"{EN_CLIP}.wav").read_bytes(), language="en")
    assert score("en", en_reference, result["text"]).rate <= MAX_WER, result["text"]


@pytest.mark.slow
def test_whisper_directory_cli(whisper_dir, data_dir, en_reference):
    wav = str(data_dir / "asr" / f"{EN_CLIP}.wav")
    args = ["transcribe", wav, "--engine", "faster-whisper", "--model-dir", str(whisper_dir), "--format", "json"]
    proc = subprocess.run(
        [*SHENGGU, *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "SHENGGU_CPU_THREADS": "1"},
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["language"] == "en" and score("en", en_reference, result["text"]).rate <= MAX_WER, result["text"]
