"""Cheap requests must not cost seconds of CPU unmetered (issue 15, items 4 and 6).

Absurd audio headers are refused by the probe before anything is decoded, every decoder failure is a 4xx, integer
path and query parameters are bounded, audio decoded before a 4xx is metered, and SSML silence is capped and metered
by the duration of the audio sent.
"""

from __future__ import annotations

import io
import struct
import time

import av
import httpx
import numpy as np
import pytest

from shenggu.audio import AudioError, InvalidAudioError, TruncatedAudioError, decode_audio, encode_wav, probe_duration
from shenggu.config import Settings
from shenggu.errors import InvalidOptionError
from shenggu.service.app import create_app
from shenggu.service.routers import assessments, speakers
from shenggu.service.routers import audio as audio_router
from shenggu.service.storage import knowledge, tenants
from shenggu.service.storage.tenants import NotFoundError
from shenggu.tts.ssml import MAX_TOTAL_BREAK_MS, parse
from tests.servers import call_as, running_server, tenant_keys


def wav_file(
    rate: int = 16000,
    channels: int = 1,
    bits: int = 16,
    tag: int = 1,
    data: bytes = b"\0" * 16000,
    data_size: int | None = None,
) -> bytes:
    """A RIFF/WAVE file with a hand-made ``fmt`` chunk (any values, however absurd) and ``data`` as its samples."""
    block = channels * bits // 8
    fmt = struct.pack("<HHIIHH", tag, channels, rate, (rate * block) & 0xFFFFFFFF, block, bits)
    size = len(data) if data_size is None else data_size
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", size) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


def flac_file(seconds: float) -> bytes:
    """A FLAC tone whose STREAMINFO declares its length (written to a seekable buffer)."""
    buffer = io.BytesIO()
    samples = (0.3 * np.sin(2 * np.pi * 220 * np.arange(int(16000 * seconds)) / 16000) * 32767).astype(np.int16)
    with av.open(buffer, "w", format="flac") as container:
        stream = container.add_stream("flac", rate=16000, layout="mono")
        for start in range(0, len(samples), 4096):
            frame = av.AudioFrame.from_ndarray(samples[None, start : start + 4096], format="s16", layout="mono")
            frame.sample_rate = 16000
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return buffer.getvalue()


ONE_HERTZ = wav_file(rate=1)  # 16 KB that FFmpeg would decode as 8,000 s of silence
SIXTY_FOUR_CHANNELS = wav_file(channels=64, data=b"\0" * 64 * 2 * 1600)

# Headers the probe refuses: nothing of these is decoded.
REFUSED_AT_PROBE = {
    "1 Hz": ONE_HERTZ,
    "7999 Hz": wav_file(rate=7999),
    "2 GHz": wav_file(rate=2_000_000_000),
    "64 channels": SIXTY_FOUR_CHANNELS,
    "9 channels": wav_file(channels=9, data=b"\0" * 9 * 2 * 1600),
}
# Every kind of broken or odd header: each decodes (to silence) or fails with an AudioError, never anything else.
MALFORMED = {
    **REFUSED_AT_PROBE,
    "0 Hz": wav_file(rate=0),
    "4 GHz": wav_file(rate=0xFFFFFFFF),
    "0 channels": wav_file(channels=0),
    "huge data size": wav_file(data_size=0x7FFFFFF0),
    "0 bits": wav_file(bits=0),
    "7 bits": wav_file(bits=7),
    "64 bits": wav_file(bits=64),
    "float32": wav_file(tag=3, bits=32, data=np.zeros(8000, np.float32).tobytes()),
    "float64": wav_file(tag=3, bits=64, data=np.zeros(8000, np.float64).tobytes()),
    "unknown codec": wav_file(tag=0x1234),
    "MP3 garbage": b"\xff\xfb\x90\x00" + bytes(range(256)) * 40,
    "ID3 garbage": b"ID3\x03\x00\x00\x00\x00\x00\x00" + b"\x13" * 5000,
    "FLAC garbage": b"fLaC\x00\x00\x00\x22" + b"\x12" * 5000,
    "OGG garbage": b"OggS" + b"\x00" * 5000,
}


# ------------------------------------------------------------------------------------------------ the decoder


@pytest.mark.parametrize("name", list(REFUSED_AT_PROBE))
def test_probe_refuses_impossible_rates_and_channels(name):
    with pytest.raises(InvalidAudioError) as refused:
        probe_duration(REFUSED_AT_PROBE[name])
    assert refused.value.code == "invalid_audio" and refused.value.http_status == 422
    with pytest.raises(InvalidAudioError):  # decoding stops at the same header check, before any frame
        decode_audio(REFUSED_AT_PROBE[name])


def test_probe_names_the_limit():
    with pytest.raises(InvalidAudioError, match=r"1 Hz; audio must be sampled at 8000"):
        probe_duration(ONE_HERTZ)
    with pytest.raises(InvalidAudioError, match="64 channels; at most 8"):
        probe_duration(SIXTY_FOUR_CHANNELS)


def test_the_limits_themselves_still_decode():
    telephone = wav_file(rate=8000, data=b"\0" * 16000)
    assert probe_duration(telephone) == pytest.approx(1.0)
    assert len(decode_audio(telephone)) == 16000
    surround = wav_file(channels=8, data=b"\0" * 8 * 2 * 16000)  # 7.1
    assert len(decode_audio(surround)) == 16000


@pytest.mark.parametrize("name", list(MALFORMED))
def test_malformed_headers_decode_or_fail_with_an_audio_error(name):
    try:
        decode_audio(MALFORMED[name])
    except AudioError as error:
        assert 400 <= error.http_status < 500 and "\n" not in error.message


def test_audio_decoded_before_a_failure_is_reported():
    whole = flac_file(4.0)
    with pytest.raises(TruncatedAudioError) as cut:
        decode_audio(whole[: int(len(whole) * 0.6)])  # STREAMINFO says 4 s: found short only at the end
    assert 1.0 < cut.value.decoded_seconds < 3.0
    with pytest.raises(InvalidAudioError) as refused:
        decode_audio(ONE_HERTZ)
    assert refused.value.decoded_seconds == 0.0


# ------------------------------------------------------------------------------------------------ SSML


def test_ssml_silence_is_capped():
    tiled = "<speak>" + '<break time="10s"/>' * 200 + "</speak>"  # 3,815 characters, 2,000 s of silence
    with pytest.raises(InvalidOptionError, match=f"at most {MAX_TOTAL_BREAK_MS // 1000} s of <break>"):
        parse(tiled)
    at_the_limit = parse("<speak>" + '<break time="10s"/>' * 6 + "好</speak>")
    assert sum(e.ms for e in at_the_limit.events if hasattr(e, "ms")) == MAX_TOTAL_BREAK_MS


# ------------------------------------------------------------------------------------------------ the service


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    return create_app(Settings(preload_models=False, job_workers=1, data_dir=tmp_path_factory.mktemp("data")))


@pytest.fixture(scope="module")
def server(app):
    keys = tenant_keys(app, "probe", "sync", "jobs", "speech", "kb")
    with running_server(app) as base:
        yield base, keys


def call(server, tenant, method, path, **kwargs) -> httpx.Response:
    base, keys = server
    return call_as(base, keys[tenant], method, path, **kwargs)


def usage_row(server, tenant: str, capability: str) -> dict | None:
    rows = call(server, tenant, "GET", "/v1/usage").json()["data"]
    return next((row for row in rows if row["capability"] == capability), None)


def assert_json_4xx(response: httpx.Response, status: int | None = None, code: str | None = None) -> None:
    shown = f"{response.status_code}: {response.text[:300]}"  # a refused request's body could be audio
    assert 400 <= response.status_code < 500, shown
    error = response.json()["error"]
    assert error["message"] and "\n" not in error["message"] and "Traceback" not in error["message"]
    if status is not None:
        assert response.status_code == status, shown
    if code is not None:
        assert error["code"] == code, shown


AUDIO_ENDPOINTS = {
    "transcriptions": ("/v1/audio/transcriptions", {}),
    "translations": ("/v1/audio/translations", {}),
    "jobs": ("/v1/jobs", {}),
    "assessments": ("/v1/assessments", {"text": "hello", "language": "en"}),
    "speakers": ("/v1/speakers", {"name": "judge"}),
}


@pytest.fixture
def no_work(monkeypatch):
    """Make the work behind every synchronous audio endpoint fail loudly (a 500) if it is ever reached."""

    def reached(*_args, **_kwargs):
        raise AssertionError("the upload was decoded although its header had been refused")

    monkeypatch.setattr(audio_router, "run_transcription", reached)
    monkeypatch.setattr(assessments, "run_assessment", reached)
    monkeypatch.setattr(speakers, "_voiceprint_of_file", reached)


@pytest.mark.slow
@pytest.mark.parametrize("endpoint", list(AUDIO_ENDPOINTS))
@pytest.mark.parametrize("name", list(REFUSED_AT_PROBE))
def test_refused_headers_are_a_422_on_every_audio_endpoint(server, no_work, endpoint, name):
    path, fields = AUDIO_ENDPOINTS[endpoint]
    response = call(server, "probe", "POST", path, files={"file": ("a.wav", REFUSED_AT_PROBE[name])}, data=fields)
    assert_json_4xx(response, 422, "invalid_audio")


@pytest.mark.slow
def test_one_hertz_wav_is_refused_quickly_and_costs_nothing(server, no_work):
    response = call(server, "probe", "POST", "/v1/audio/transcriptions", files={"file": ("a.wav", ONE_HERTZ)})
    assert_json_4xx(response, 422, "invalid_audio")
    assert "1 Hz" in response.json()["error"]["message"]
    assert usage_row(server, "probe", "transcribe") is None  # nothing was decoded, so nothing is metered


@pytest.mark.slow
@pytest.mark.parametrize("name", list(MALFORMED))
def test_malformed_headers_are_a_4xx_from_transcriptions(server, name):
    response = call(server, "probe", "POST", "/v1/audio/transcriptions", files={"file": ("a.wav", MALFORMED[name])})
    assert_json_4xx(response)


@pytest.mark.slow
def test_no_speech_is_metered(server):
    silence = encode_wav(np.zeros(16000 * 3, dtype=np.float32))
    response = call(server, "sync", "POST", "/v1/audio/transcriptions", files={"file": ("s.wav", silence)})
    assert_json_4xx(response, 422, "no_speech")
    row = usage_row(server, "sync", "transcribe")
    assert row is not None and row["requests"] == 1 and row["audio_seconds"] == pytest.approx(3.0, abs=0.01)


@pytest.mark.slow
def test_a_job_without_speech_is_metered(server):
    silence = encode_wav(np.zeros(16000 * 4, dtype=np.float32))
    created = call(server, "jobs", "POST", "/v1/jobs", files={"file": ("s.wav", silence)})
    assert created.status_code == 202, created.text
    deadline = time.monotonic() + 120
    while (job := call(server, "jobs", "GET", f"/v1/jobs/{created.json()['id']}").json())["status"] in (
        "queued",
        "running",
    ):
        assert time.monotonic() < deadline, job
        time.sleep(0.2)
    assert job["status"] == "failed" and job["error"]["code"] == "no_speech"
    row = usage_row(server, "jobs", "transcribe")
    assert row is not None and row["audio_seconds"] == pytest.approx(4.0, abs=0.01)


@pytest.fixture(scope="module")
def faq(server) -> None:
    """The knowledge base ``faq`` (version 1) of tenant ``kb``."""
    stored = call(
        server, "kb", "PUT", "/v1/knowledge-bases/faq", json={"entries": [{"question": "几点", "answer": "九点"}]}
    )
    assert stored.status_code in (200, 201), stored.text


@pytest.mark.slow
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/knowledge-bases/faq/versions/99999999999999999999999"),
        ("POST", "/v1/knowledge-bases/faq/versions/99999999999999999999999/activate"),
        ("GET", "/v1/knowledge-bases/faq/export?version=99999999999999999999999"),
        ("GET", "/v1/knowledge-bases/faq/versions/2147483648"),
        ("GET", "/v1/knowledge-bases/faq/versions/0"),
        ("GET", "/v1/knowledge-bases/faq?offset=99999999999999999999999"),
    ],
)
def test_huge_integer_parameters_are_a_422(server, faq, method, path):
    assert_json_4xx(call(server, "kb", method, path), 422, "invalid_request")
    missing = call(server, "kb", "GET", "/v1/knowledge-bases/faq/versions/2147483647")  # in range: just not there
    assert_json_4xx(missing, 404)


@pytest.mark.slow
def test_a_huge_version_is_not_found_in_storage(app, faq):
    """The CLI's ``kb export --version`` reaches storage without the HTTP bounds: not found, not an overflow."""
    with app.state.db.session() as session:
        tenant = tenants.get_or_create_tenant(session, "kb")
        with pytest.raises(NotFoundError, match="no version 99999999999999999999999"):
            knowledge.get_version(session, tenant.id, "faq", 99999999999999999999999)


@pytest.mark.slow
def test_ssml_silence_cap_is_a_400(server):
    tiled = "<speak>" + '<break time="10s"/>' * 200 + "</speak>"
    response = call(server, "speech", "POST", "/v1/audio/speech", json={"input": tiled, "sample_rate": 48000})
    assert_json_4xx(response, 400, "invalid_option")
    assert "60 s" in response.json()["error"]["message"]


@pytest.mark.slow
def test_speech_is_metered_by_the_audio_sent(server):
    ssml = '<speak>你好<break time="10s"/><break time="10s"/>再见</speak>'
    response = call(
        server, "speech", "POST", "/v1/audio/speech",
        json={"input": ssml, "voice": "zf_xiaoxiao", "response_format": "pcm", "sample_rate": 16000},
    )  # fmt: skip
    assert response.status_code == 200, response.text
    sent = len(response.content) / 2 / 16000
    assert sent > 20.0  # the breaks are in it
    row = usage_row(server, "speech", "speech")
    assert row["characters"] == len(ssml) and row["requests"] == 1
    assert row["audio_seconds"] == pytest.approx(sent, abs=0.01)
    # Audio made is not audio sent in: the daily audio quota is untouched.
    assert call(server, "speech", "GET", "/v1/usage").json()["audio_seconds_today"] == 0
