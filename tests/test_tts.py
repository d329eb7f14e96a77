"""Speech synthesis end to end: real Kokoro and Piper voices, checked by ear (shenggu's own ASR), streamed over
the OpenAI-compatible API, metered and limited, bad input refused."""

from __future__ import annotations

import io

import httpx
import numpy as np
import pytest

from shenggu.asr.pipeline import TranscribeOptions, transcribe
from shenggu.audio import decode_audio
from shenggu.audio.encode import StreamingEncoder
from shenggu.bench.scoring import score
from shenggu.config import Settings, get_settings
from shenggu.errors import InvalidOptionError
from shenggu.service.app import create_app
from shenggu.service.storage import tenants
from shenggu.tts.synthesis import synthesize
from tests.servers import running_server

ZH = "欢迎来到声谷智能语音平台，今天气温二十五度。"
EN = "Welcome to the speech valley. The meeting starts at three fifteen."


def speech(text: str, voice: str, **kwargs) -> tuple[np.ndarray, int]:
    chunks = list(synthesize(text, voice, **kwargs, settings=get_settings()))
    return np.concatenate([c.samples for c in chunks]), chunks[0].sample_rate


def heard(samples: np.ndarray, rate: int, recognizer, language: str) -> str:
    encoder = StreamingEncoder("wav", rate)
    wav = encoder.encode(samples) + encoder.finish()
    return transcribe(io.BytesIO(wav), recognizer, TranscribeOptions(language=language)).text


@pytest.mark.parametrize("voice", ["zf_xiaoxiao", "zm_yunxi"])
def test_mandarin_voice_is_understood(voice, recognizer):
    samples, rate = speech(ZH, voice)
    seconds = len(samples) / rate
    assert 2.0 < seconds < 9.0  # 21 characters at a natural pace
    assert float(np.sqrt(np.mean(samples**2))) > 0.02  # not silence
    text = heard(samples, rate, recognizer, "zh")
    assert score("zh", ZH, text).rate <= 0.25, text


def test_english_voice_is_understood(recognizer):
    samples, rate = speech(EN, "en_joe")
    assert rate == 22050 and 2.0 < len(samples) / rate < 8.0
    text = heard(samples, rate, recognizer, "en")
    assert score("en", EN, text).rate <= 0.25, text


def test_speed_and_sample_rate(recognizer):
    normal, rate = speech("今天天气很好，我们去公园散步吧。", "zf_xiaoxiao")
    fast, fast_rate = speech("今天天气很好，我们去公园散步吧。", "zf_xiaoxiao", speed=1.5, sample_rate=16000)
    assert fast_rate == 16000
    assert len(fast) / fast_rate < 0.85 * len(normal) / rate


@pytest.mark.parametrize(
    ("text", "voice", "message"),
    [
        ("", "zf_xiaoxiao", "empty"),
        ("你好", "nobody", "unknown voice"),
        ("你好世界", "en_joe", "English only"),
        ("x" * 5000, "en_joe", "at most"),
    ],
)
def test_bad_requests_fail_before_any_audio(text, voice, message):
    with pytest.raises(InvalidOptionError, match=message):
        next(synthesize(text, voice, settings=get_settings()))


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    app = create_app(Settings(preload_models=False, job_workers=0, data_dir=tmp_path_factory.mktemp("data")))
    with app.state.db.session() as session:
        keys = {
            "free": tenants.create_key(session, tenants.get_or_create_tenant(session, "speech-free"))[1],
            "small": tenants.create_key(
                session, tenants.get_or_create_tenant(session, "speech-small", quota_characters_per_day=30)
            )[1],
        }
    with running_server(app) as base:
        yield base, keys


def test_openai_client_streams_speech(server, recognizer):
    from openai import OpenAI

    base, keys = server
    client = OpenAI(base_url=f"{base}/v1", api_key=keys["free"])
    pieces = []
    with client.audio.speech.with_streaming_response.create(
        model="tts-1", voice="zf_xiaoxiao", input=ZH + ZH, response_format="wav"
    ) as response:
        assert response.headers["content-type"] == "audio/wav"
        for piece in response.iter_bytes():
            pieces.append(piece)
    assert len(pieces) > 1  # sent as produced, not in one block
    audio = decode_audio(io.BytesIO(b"".join(pieces)))
    assert 4.0 < len(audio) / 16000 < 18.0
    usage = httpx.get(f"{base}/v1/usage", headers={"Authorization": f"Bearer {keys['free']}"}).json()
    assert any(row["capability"] == "speech" and row["characters"] == 2 * len(ZH) for row in usage["data"])


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["mp3", "flac", "opus", "aac", "pcm"])
def test_every_response_format_decodes(server, fmt):
    base, keys = server
    response = httpx.post(
        f"{base}/v1/audio/speech",
        headers={"Authorization": f"Bearer {keys['free']}"},
        json={"input": "Good morning.", "voice": "en_joe", "response_format": fmt},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    if fmt == "pcm":
        samples = np.frombuffer(response.content, "<i2")
        assert 0.4 < len(samples) / 22050 < 3.0
    else:
        assert 0.4 < len(decode_audio(io.BytesIO(response.content))) / 16000 < 3.0


@pytest.mark.slow
@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"input": "", "voice": "zf_xiaoxiao"}, 422, None),
        ({"input": "你好", "voice": "nobody"}, 400, "invalid_option"),
        ({"input": "你好", "voice": "zf_xiaoxiao", "response_format": "ogg"}, 422, None),
        ({"input": "你好", "voice": "zf_xiaoxiao", "model": "tts-9"}, 400, "invalid_option"),
        ({"input": "x" * 4097, "voice": "en_joe"}, 422, None),
        ({"input": "你好", "voice": "zf_xiaoxiao", "speed": 9}, 422, None),
        ({"input": "<speak><bogus/></speak>", "voice": "zf_xiaoxiao"}, 400, "invalid_option"),
    ],
)
def test_bad_input_is_a_clear_4xx(server, body, status, code):
    base, keys = server
    response = httpx.post(
        f"{base}/v1/audio/speech", headers={"Authorization": f"Bearer {keys['free']}"}, json=body, timeout=60
    )
    assert response.status_code == status, response.text
    assert "error" in response.json()
    if code:
        assert response.json()["error"]["code"] == code


@pytest.mark.slow
def test_character_quota_and_voice_list(server):
    base, keys = server
    headers = {"Authorization": f"Bearer {keys['small']}"}
    voices = httpx.get(f"{base}/v1/audio/voices", headers=headers).json()["data"]
    assert {"zh", "en"} <= {v["language"] for v in voices} and {"female", "male"} <= {v["gender"] for v in voices}
    ok = httpx.post(f"{base}/v1/audio/speech", headers=headers, json={"input": "你好，世界。", "voice": "zf_xiaoyi"})
    assert ok.status_code == 200
    over = httpx.post(f"{base}/v1/audio/speech", headers=headers, json={"input": "一" * 28, "voice": "zf_xiaoyi"})
    assert over.status_code == 429 and over.json()["error"]["code"] == "quota_exceeded"
    assert "Retry-After" in over.headers
    assert httpx.post(f"{base}/v1/audio/speech", json={"input": "hi", "voice": "en_joe"}).status_code == 401
