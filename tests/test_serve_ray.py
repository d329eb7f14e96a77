"""``shenggu serve --ray``: the same HTTP API, with recognition, synthesis, assessment, speaker embeddings and the
language model as Ray Serve deployments on a real two-node cluster (the session's ``ray_address`` fixture):
transcription, a stream, speech, a job, an assessment, voiceprints and diarization, chat, bad input, and an ASR
replica killed under the server."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import time
import wave
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from shenggu.bench.local_server import free_port
from shenggu.bench.manifest import load_manifest
from shenggu.bench.scoring import score
from tests.ray_cluster import BIN, processes_titled

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def ray_server(ray_address: str, tmp_path_factory) -> Iterator[str]:
    """A development-mode server (no keys) on a free port, its heavy work on the cluster; the deployments are
    removed afterwards so other tests get the cluster's CPUs back."""
    data = tmp_path_factory.mktemp("ray_server")
    env = os.environ | {"SHENGGU_DATA_DIR": str(data), "SHENGGU_DEV_MODE": "true", "SHENGGU_PRELOAD": "asr,tts"}
    base = f"http://127.0.0.1:{(port := free_port())}"
    with open(data / "server.log", "wb") as log:
        server = subprocess.Popen(
            [BIN / "shenggu", "serve", "--port", str(port), "--ray", ray_address], env=env, stdout=log, stderr=log
        )
        try:
            deadline = time.monotonic() + 400
            while not _ready(base):
                assert server.poll() is None, (data / "server.log").read_text()
                assert time.monotonic() < deadline, "server not ready"
                time.sleep(1)
            yield base
        finally:
            server.terminate()
            server.wait(timeout=60)
            remove = f"import ray; from ray import serve; ray.init(address='{ray_address}'); serve.shutdown()"
            subprocess.run([BIN / "python", "-c", remove], capture_output=True, timeout=180)


def _ready(base: str) -> bool:
    try:
        return httpx.get(f"{base}/ready", timeout=5).json().get("ready") is True
    except (httpx.HTTPError, ValueError):
        return False


def _clip(data_dir: Path, language: str):
    entries = load_manifest(data_dir / "manifest.tsv")
    return next(e for e in entries if e.language == language and e.ref_quality == "A" and 3 < e.duration_s < 10)


def _transcribe(base: str, audio: bytes, name: str = "clip.wav", **form) -> httpx.Response:
    files = {"file": (name, audio, "audio/wav")}
    return httpx.post(f"{base}/v1/audio/transcriptions", files=files, data={"model": "whisper-1", **form}, timeout=300)


@pytest.mark.parametrize("language", ["zh", "en"])
def test_transcription_runs_on_the_cluster(ray_server: str, data_dir: Path, language: str) -> None:
    entry = _clip(data_dir, language)
    response = _transcribe(ray_server, entry.path.read_bytes(), response_format="verbose_json")
    assert response.status_code == 200, response.text
    body = response.json()
    counts = score(language, entry.reference_text, body["text"])
    assert counts.errors / counts.ref_len < 0.3
    assert body["language"] in (language, {"zh": "chinese", "en": "english"}[language])
    assert body["segments"] and body["segments"][-1]["end"] > 1.0


def test_speech_runs_on_the_cluster_and_is_intelligible(ray_server: str) -> None:
    text = "今天天气很好，我们一起去公园散步。"
    body = {"model": "tts-1", "input": text, "voice": "zf_xiaoxiao", "response_format": "wav"}
    response = httpx.post(f"{ray_server}/v1/audio/speech", json=body, timeout=300)
    assert response.status_code == 200, response.text
    with wave.open(io.BytesIO(response.content)) as audio:
        assert audio.getnframes() / audio.getframerate() > 1.5
    heard = _transcribe(ray_server, response.content, language="zh").json()["text"]
    counts = score("zh", text, heard)
    assert counts.errors / counts.ref_len <= 0.25, heard


def test_a_stream_runs_on_the_cluster(ray_server: str, data_dir: Path) -> None:
    from shenggu.client import StreamClient

    entry = _clip(data_dir, "zh")
    result = StreamClient(ray_server.replace("http://", "ws://"), language="zh").transcribe_file(entry.path)
    assert result.error is None, result.error
    assert result.finals
    counts = score("zh", entry.reference_text, result.text)
    assert counts.errors / counts.ref_len < 0.3


def test_a_job_runs_on_the_cluster(ray_server: str, data_dir: Path) -> None:
    entry = _clip(data_dir, "zh")
    files = {"file": (entry.path.name, entry.path.read_bytes(), "audio/wav")}
    accepted = httpx.post(f"{ray_server}/v1/jobs", files=files, data={"language": "zh"}, timeout=60)
    assert accepted.status_code == 202, accepted.text
    deadline = time.monotonic() + 300
    while (job := httpx.get(f"{ray_server}/v1/jobs/{accepted.json()['id']}", timeout=30).json())["status"] not in (
        "succeeded",
        "failed",
    ):
        assert time.monotonic() < deadline, job
        time.sleep(0.5)
    assert job["status"] == "succeeded", job
    counts = score("zh", entry.reference_text, job["result"]["text"])
    assert counts.errors / counts.ref_len < 0.3


def test_an_assessment_runs_on_the_cluster(ray_server: str, data_dir: Path) -> None:
    entry = next(e for e in load_manifest(data_dir / "manifest.tsv", task="pronunciation") if e.language == "en")
    files = {"file": (entry.path.name, entry.path.read_bytes(), "audio/wav")}
    response = httpx.post(
        f"{ray_server}/v1/assessments", files=files, data={"text": entry.reference_text, "language": "en"}, timeout=300
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert 0 <= body["total"] <= 100
    assert [w["word"].upper() for w in body["words"]] == entry.reference_text.split()


def test_voiceprints_and_diarization_run_on_the_cluster(ray_server: str, mixes, clip_path) -> None:
    clerk = clip_path("zh_firered_BAC009S0764W0121")  # the first speaker of the two-speaker mix
    files = {"file": ("a.wav", clerk.read_bytes(), "audio/wav")}
    enrolled = httpx.post(f"{ray_server}/v1/speakers", data={"name": "书记员"}, files=files, timeout=300)
    assert enrolled.status_code in (200, 201), enrolled.text
    fields = {"language": "zh", "response_format": "verbose_json", "diarize": "true", "roles": "原告,书记员"}
    mix = {"file": ("mix.wav", mixes["zh_mix_2spk_c"].read_bytes(), "audio/wav")}
    response = httpx.post(f"{ray_server}/v1/audio/transcriptions", data=fields, files=mix, timeout=300)
    assert response.status_code == 200, response.text
    body = response.json()
    # The enrolled 书记员 speaks first; by order alone they would have been 原告.
    assert body["speakers"] == [{"speaker": "SPEAKER_00", "role": "书记员"}, {"speaker": "SPEAKER_01", "role": "原告"}]
    assert [s["speaker"] for s in body["segments"]][:2] == ["SPEAKER_00", "SPEAKER_01"]


def test_chat_runs_on_the_cluster(ray_server: str) -> None:
    messages = [{"role": "user", "content": "Reply with the single word: yes"}]
    response = httpx.post(
        f"{ray_server}/v1/chat/completions", json={"messages": messages, "max_tokens": 8}, timeout=300
    )
    assert response.status_code == 200, response.text
    assert response.json()["choices"][0]["message"]["content"].strip()
    body = {"messages": messages, "max_tokens": 8, "stream": True}
    with httpx.stream("POST", f"{ray_server}/v1/chat/completions", json=body, timeout=300) as streamed:
        assert streamed.status_code == 200
        events = [line for line in streamed.iter_lines() if line.startswith("data: ")]
    assert events[-1] == "data: [DONE]" and len(events) >= 3


def test_bad_input_is_a_4xx_from_the_cluster(ray_server: str) -> None:
    response = _transcribe(ray_server, b"this is not audio at all" * 10)
    assert response.status_code == 415 or 400 <= response.status_code < 500
    assert response.json()["error"]["code"] == "not_audio"
    body = {"model": "tts-1", "input": "，。", "voice": "zf_xiaoxiao"}
    response = httpx.post(f"{ray_server}/v1/audio/speech", json=body, timeout=120)
    assert 400 <= response.status_code < 500 and "error" in response.json()


def test_a_killed_asr_replica_is_replaced_without_a_hang(ray_server: str, data_dir: Path) -> None:
    audio = _clip(data_dir, "en").path.read_bytes()
    (victim,) = processes_titled("ray::ServeReplica:shenggu-asr")
    os.kill(victim, signal.SIGKILL)
    started = time.monotonic()
    response = _transcribe(ray_server, audio)
    assert time.monotonic() - started < 240
    if response.status_code != 200:  # the retry found no replica yet: a clear, retryable answer
        assert response.status_code == 503, response.text
        assert int(response.headers["Retry-After"]) > 0
        assert response.json()["error"]["code"] == "capacity_unavailable"
    deadline = time.monotonic() + 240
    while (response := _transcribe(ray_server, audio)).status_code != 200:
        assert response.status_code == 503 and time.monotonic() < deadline, response.text
        time.sleep(2)
    assert response.json()["text"].strip()
    assert processes_titled("ray::ServeReplica:shenggu-asr") not in ([], [victim])
