"""The HTTP API (development mode) with a real server and the real OpenAI client; bad input gets a JSON 4xx."""

from __future__ import annotations

import httpx
import pytest

from shenggu.config import Settings
from shenggu.service.app import create_app
from tests.servers import running_server


@pytest.fixture(scope="module")
def server(recognizer, tmp_path_factory):
    settings = Settings(
        preload_models=False, max_upload_mb=5, dev_mode=True, job_workers=0, data_dir=tmp_path_factory.mktemp("data")
    )
    with running_server(create_app(settings)) as base:
        yield base


def test_health_and_models(server):
    assert httpx.get(f"{server}/health").json()["status"] == "ok"
    ids = [m["id"] for m in httpx.get(f"{server}/v1/models").json()["data"]]
    assert "whisper-base" in ids


def test_openai_client_round_trip(server, data_dir):
    from openai import OpenAI

    client = OpenAI(base_url=f"{server}/v1", api_key="unused")
    with open(data_dir / "asr" / "zh_wenet_BAC009S0724W0121.wav", "rb") as f:
        result = client.audio.transcriptions.create(model="whisper-1", file=f, language="zh")
    assert "广州" in result.text
    with open(data_dir / "asr" / "en_speechbrain_spk1_snt1.wav", "rb") as f:
        verbose = client.audio.transcriptions.create(
            model="whisper-1",
            file=f,
            language="en",
            response_format="verbose_json",
            timestamp_granularities=["word", "segment"],
        )
    assert "dog" in verbose.text.lower()
    assert verbose.words and verbose.words[0].start <= verbose.words[-1].end <= verbose.duration + 0.01
    assert verbose.segments and verbose.segments[0].end <= verbose.duration + 0.01
    with open(data_dir / "asr" / "en_speechbrain_spk1_snt1.wav", "rb") as f:
        srt = client.audio.transcriptions.create(model="whisper-1", file=f, response_format="srt")
    assert "-->" in srt


def test_text_and_vtt_formats(server, data_dir):
    audio = (data_dir / "asr" / "en_speechbrain_spk1_snt1.wav").read_bytes()
    text = httpx.post(
        f"{server}/v1/audio/transcriptions",
        files={"file": ("a.wav", audio)},
        data={"response_format": "text", "language": "en"},
        timeout=60,
    )
    assert text.status_code == 200 and "child" in text.text.lower()
    vtt = httpx.post(
        f"{server}/v1/audio/transcriptions",
        files={"file": ("a.wav", audio)},
        data={"response_format": "vtt"},
        timeout=60,
    )
    assert vtt.text.startswith("WEBVTT")


@pytest.mark.parametrize(
    ("files", "data", "status", "code"),
    [
        ({"file": ("empty.wav", b"")}, {}, 422, "empty_audio"),
        ({"file": ("notes.txt", b"hello, this is not audio at all\n" * 20)}, {}, 415, "not_audio"),
        ({"file": ("a.wav", b"RIFF\x24\x00\x00\x00WAVEfmt ")}, {}, 422, None),
        ({"file": ("big.wav", b"\0" * (6 << 20))}, {}, 413, "upload_too_large"),
        (None, {"model": "whisper-1"}, 422, "invalid_request"),
        ({"file": ("a.wav", b"x")}, {"response_format": "docx"}, 422, "invalid_request"),
        ({"file": ("a.wav", b"x")}, {"model": "gpt-17"}, 400, "invalid_option"),
        ({"file": ("a.wav", b"x")}, {"language": "fr"}, 422, "invalid_request"),
    ],
)
def test_bad_input_gets_json_4xx(server, files, data, status, code):
    response = httpx.post(f"{server}/v1/audio/transcriptions", files=files, data=data, timeout=60)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["message"] and "\n" not in error["message"] and "Traceback" not in error["message"]
    if code:
        assert error["code"] == code


def test_silence_is_a_clear_error(server):
    import numpy as np

    from shenggu.audio import encode_wav

    wav = encode_wav(np.zeros(16000 * 3, dtype=np.float32))
    response = httpx.post(f"{server}/v1/audio/transcriptions", files={"file": ("s.wav", wav)}, timeout=60)
    assert response.status_code == 422 and response.json()["error"]["code"] == "no_speech"


def test_oversized_body_is_refused_while_streaming(server):
    def body():  # a chunked upload with no Content-Length: only counting can stop it
        yield b'--x\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n\r\n'
        for _ in range(64):
            yield b"\0" * (1 << 20)
        yield b"\r\n--x--\r\n"

    response = httpx.post(
        f"{server}/v1/audio/transcriptions",
        content=body(),
        headers={"Content-Type": "multipart/form-data; boundary=x"},
        timeout=60,
    )
    assert response.status_code == 413 and response.json()["error"]["code"] == "upload_too_large"
    declared = httpx.post(
        f"{server}/v1/audio/transcriptions",
        content=b"\0" * (7 << 20),
        headers={"Content-Type": "multipart/form-data; boundary=x"},
        timeout=60,
    )
    assert declared.status_code == 413
