"""The Wyoming protocol with the ``wyoming`` package's own async TCP client against a real shenggu server: info,
real recordings transcribed (streamed text, any audio format), Mandarin and English synthesized and recognized
back, streamed synthesis, metering and quotas of the listener's tenant, and bad input answered with ``error``."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time

import numpy as np
import pytest
import soxr
from wyoming.asr import Transcribe, Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncTcpClient
from wyoming.error import Error
from wyoming.event import Event
from wyoming.info import Describe, Info
from wyoming.tts import Synthesize, SynthesizeChunk, SynthesizeStart, SynthesizeStop, SynthesizeStopped, SynthesizeVoice

from shenggu.audio import decode_audio
from shenggu.bench.protocol_wyoming import final_latency
from shenggu.bench.scoring import score
from shenggu.config import Settings
from shenggu.service.app import create_app
from shenggu.service.protocols.wyoming import hotwords_of
from shenggu.service.storage import tenants
from shenggu.tts.voices import VOICES
from tests.servers import call_as, free_port, running_server, tenant_keys

TENANT = "home"
ZH_CLIP, ZH_REF = "zh_firered_BAC009S0764W0121.wav", "甚至出现交易几乎停滞的情况"
ZH_SPEECH = "欢迎来到声谷智能语音平台，今天气温二十五度。"
EN_SPEECH = "Welcome to the speech valley. The meeting starts at three fifteen."


@pytest.fixture(scope="module")
def server(recognizer, tmp_path_factory):
    """(app, wyoming port, HTTP base, key of the listener's tenant)."""
    port = free_port()
    settings = Settings(
        preload_models=False,
        job_workers=0,
        max_streams=2,
        stream_idle_seconds=3.0,
        data_dir=tmp_path_factory.mktemp("data"),
        wyoming_port=port,
        wyoming_tenant=TENANT,
    )
    app = create_app(settings)
    key = tenant_keys(app, TENANT)[TENANT]
    with running_server(app) as base:
        yield app, port, base, key


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, 120))


async def exchange(port: int, events: list[Event]) -> list[Event]:
    """Send ``events``, then read every event until the server closes the connection (or 30 s pass)."""
    async with AsyncTcpClient("127.0.0.1", port, read_timeout=30) as client:
        for event in events:
            await client.write_event(event)
        received = []
        while (event := await client.read_event()) is not None:
            received.append(event)
        return received


def audio_events(audio: np.ndarray, rate: int = 16000, width: int = 2, channels: int = 1) -> list[Event]:
    """``audio`` (16 kHz float32) as audio-start, 100 ms chunks, audio-stop, in the given format."""
    samples = soxr.resample(audio, 16000, rate) if rate != 16000 else audio
    if width == 1:  # 8 bits keep only a loud recording: full scale, as a device recording 8-bit audio sets it
        samples = samples * (0.9 / np.abs(samples).max())
    frames = np.repeat((np.clip(samples, -1, 1) * 32767).astype(np.int64)[:, None], channels, axis=1)
    scale = {1: 1 / 256, 2: 1, 4: 65536}[width]
    dtype = {1: np.int8, 2: "<i2", 4: "<i4"}[width]
    data = (frames * scale).astype(dtype)
    if width == 1:  # 8-bit PCM is unsigned
        data = (data.astype(np.int16) + 128).astype(np.uint8)
    step = rate // 10
    chunks = [
        AudioChunk(rate=rate, width=width, channels=channels, audio=data[i : i + step].tobytes()).event()
        for i in range(0, len(data), step)
    ]
    return [AudioStart(rate=rate, width=width, channels=channels).event(), *chunks, AudioStop().event()]


def transcript_of(received: list[Event]) -> Transcript:
    (transcript,) = [Transcript.from_event(e) for e in received if Transcript.is_type(e.type)]
    return transcript


def usage_row(base: str, key: str, capability: str) -> dict:
    rows = call_as(base, key, "GET", "/v1/usage").json()["data"]
    return next((r for r in rows if r["capability"] == capability), {"audio_seconds": 0.0, "characters": 0})


def test_info_lists_both_languages_and_every_voice(server):
    _, port, _, _ = server
    (event,) = run(exchange_until(port, [Describe().event()], "info"))
    info = Info.from_event(event)
    (asr,) = info.asr
    assert asr.installed and asr.supports_transcript_streaming
    assert asr.models[0].languages == ["zh", "en"]
    (tts,) = info.tts
    assert tts.supports_synthesize_streaming
    assert {v.name: v.languages for v in tts.voices} == {v.id: [v.language] for v in VOICES.values()}
    assert all(v.description for v in tts.voices)


@pytest.mark.parametrize(("rate", "width", "channels"), [(16000, 2, 1), (44100, 4, 2), (8000, 1, 1)])
def test_a_recording_is_transcribed_with_the_text_so_far_streamed(server, data_dir, rate, width, channels):
    _, port, base, key = server
    before = usage_row(base, key, "stream")["audio_seconds"]
    audio = decode_audio(data_dir / "asr" / ZH_CLIP)
    request = Transcribe(language="zh", transcript_terms=["停滞"])  # a hint, as Home Assistant sends its names
    received = run(exchange(port, [request.event(), *audio_events(audio, rate, width, channels)]))
    types = [e.type for e in received]
    assert types[0] == "transcript-start" and types[-2:] == ["transcript", "transcript-stop"], types
    assert set(types[1:-2]) <= {"transcript-chunk"}, types
    transcript = transcript_of(received)
    assert transcript.language == "zh"
    assert score("zh", ZH_REF, transcript.text).rate <= (0.25 if rate >= 16000 else 0.4), transcript.text
    seconds = usage_row(base, key, "stream")["audio_seconds"] - before
    assert abs(seconds - len(audio) / 16000) < 0.1, seconds


def test_a_live_recording_has_partials_and_its_final_latency_is_measured(server, data_dir):
    _, port, _, _ = server
    audio = np.concatenate([decode_audio(data_dir / "asr" / ZH_CLIP), np.zeros(8000, np.float32)])
    result = final_latency(f"tcp://127.0.0.1:{port}", "", audio, language="zh")
    assert score("zh", ZH_REF, result.text).rate <= 0.25, result.text
    assert result.first_partial_s is not None and result.first_partial_s > 0.0  # a transcript-chunk came first
    assert 0.0 < result.final_latency_s < 10.0  # loose: two busy cores; `bench stream --protocol` measures it


async def synthesized(port: int, request: Event) -> tuple[np.ndarray, int, list[str]]:
    received = await exchange_until(port, [request], "audio-stop")
    start = AudioStart.from_event(received[0])
    assert (start.width, start.channels) == (2, 1)
    chunks = [AudioChunk.from_event(e) for e in received if AudioChunk.is_type(e.type)]
    audio = np.frombuffer(b"".join(c.audio for c in chunks), "<i2").astype(np.float32) / 32768
    return audio, start.rate, [e.type for e in received]


async def exchange_until(port: int, events: list[Event], last: str) -> list[Event]:
    """Send ``events``; read until an event of type ``last`` (TTS leaves the connection open for more)."""
    async with AsyncTcpClient("127.0.0.1", port, read_timeout=60) as client:
        for event in events:
            await client.write_event(event)
        received = []
        while (event := await client.read_event()) is not None:
            received.append(event)
            if event.type in (last, "error"):
                break
        return received


@pytest.mark.parametrize(
    ("text", "voice", "language", "rate"),
    [
        (ZH_SPEECH, SynthesizeVoice(name="zm_yunxi"), "zh", 24000),
        (EN_SPEECH, SynthesizeVoice(language="en-US"), "en", 22050),  # the language's default voice: en_joe
    ],
)
def test_speech_is_synthesized_and_recognized_back(server, text, voice, language, rate):
    _, port, base, key = server
    before = usage_row(base, key, "speech")
    audio, got_rate, types = run(synthesized(port, Synthesize(text=text, voice=voice).event()))
    assert got_rate == rate and types[0] == "audio-start" and types[-1] == "audio-stop"
    assert 2.0 < len(audio) / rate < 9.0
    speech_16k = soxr.resample(audio, rate, 16000)
    received = run(exchange(port, [Transcribe(language=language).event(), *audio_events(speech_16k)]))
    assert score(language, text, transcript_of(received).text).rate <= 0.25, transcript_of(received).text
    after = usage_row(base, key, "speech")
    assert after["characters"] - before["characters"] == len(text)
    assert after["audio_seconds"] - before["audio_seconds"] == pytest.approx(len(audio) / rate, abs=0.01)


def test_streamed_text_is_spoken_sentence_by_sentence(server):
    _, port, base, key = server
    before = usage_row(base, key, "speech")["characters"]
    pieces = ["今天天气", "很好，我们去公园散步吧。明天", "见。"]
    events = [
        SynthesizeStart(voice=SynthesizeVoice(language="zh")).event(),
        *(SynthesizeChunk(text=p).event() for p in pieces),
        Synthesize(text="".join(pieces)).event(),  # the compatibility copy a streaming client also sends
        SynthesizeStop().event(),
    ]
    received = run(exchange_until(port, events, "synthesize-stopped"))
    types = [e.type for e in received if e.type != "audio-chunk"]
    assert types == ["audio-start", "audio-stop", "audio-start", "audio-stop", "synthesize-stopped"], types
    assert SynthesizeStopped.is_type(received[-1].type)
    audio = b"".join(AudioChunk.from_event(e).audio for e in received if AudioChunk.is_type(e.type))
    assert len(audio) / 2 / 24000 > 2.0
    assert usage_row(base, key, "speech")["characters"] - before == len("".join(pieces))


def leave_mid_stream(port: int, audio: np.ndarray) -> None:
    """Stream ``audio`` in real time, wait for the server to take it all, and leave without audio-stop."""

    async def go() -> None:
        async with AsyncTcpClient("127.0.0.1", port) as client:
            await client.write_event(Transcribe(language="zh").event())
            for event in audio_events(audio)[:-1]:
                await client.write_event(event)
                await asyncio.sleep(0.1)
            await asyncio.sleep(0.5)

    run(go())


def test_a_client_that_leaves_mid_stream_is_metered_and_frees_its_slot(server, data_dir):
    _, port, base, key = server
    before = usage_row(base, key, "stream")["audio_seconds"]
    audio = decode_audio(data_dir / "asr" / ZH_CLIP)[:16000]
    for _ in range(3):  # more than max_streams: a slot kept would refuse the third
        leave_mid_stream(port, audio)
    deadline = time.monotonic() + 30
    while usage_row(base, key, "stream")["audio_seconds"] - before < 3.0 - 0.1 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert usage_row(base, key, "stream")["audio_seconds"] - before == pytest.approx(3.0, abs=0.05)
    received = run(exchange(port, [Transcribe(language="zh").event(), *audio_events(audio)]))
    assert transcript_of(received).text


def test_many_or_long_transcript_names_are_hints_not_faults():
    names = [f"客厅灯{i}" for i in range(300)]
    words = hotwords_of(Transcribe(transcript_names=names, transcript_terms=["x" * 41, " 空调 ", "客厅灯0"]))
    assert words == names[:200]
    hints = Transcribe(transcript_names=["书房", "x" * 41], transcript_terms=[" 空调 ", "书房"])
    assert hotwords_of(hints) == ["书房", "空调"]


def error_of(received: list[Event]) -> Error:
    assert received and Error.is_type(received[-1].type), [e.type for e in received]
    return Error.from_event(received[-1])


def chunk(rate: int = 16000, width: int = 2, channels: int = 1, samples: int = 1600) -> Event:
    return AudioChunk(rate=rate, width=width, channels=channels, audio=bytes(samples * width * channels)).event()


START = AudioStart(rate=16000, width=2, channels=1).event()


@pytest.mark.parametrize(
    ("events", "code", "words"),
    [
        ([chunk()], "bad_stream", "before audio-start"),
        ([Transcribe().event(), chunk()], "bad_stream", "before audio-start"),
        ([START], "bad_stream", "transcribe before"),
        ([Transcribe(language="fr").event(), START], "invalid_option", "unsupported language"),
        ([Transcribe(name="large-v3").event(), START], "invalid_option", "unknown model"),
        ([Transcribe().event(), AudioStart(rate=4000, width=2, channels=1).event()], "bad_stream", "rate"),
        ([Transcribe().event(), START, chunk(channels=6)], "bad_stream", "channels"),
        ([Transcribe().event(), START, Event("audio-chunk", {"rate": 16000})], "bad_stream", "malformed"),
        ([Transcribe().event(), START, START], "bad_stream", "during a transcription"),
        ([Synthesize(text="你好", voice=SynthesizeVoice(name="nobody")).event()], "invalid_option", "unknown voice"),
        ([Synthesize(text="你好", voice=SynthesizeVoice(name="en_joe")).event()], "invalid_option", "English only"),
        ([Synthesize(text="。。。").event()], "invalid_option", "nothing to say"),
        ([SynthesizeChunk(text="你好").event()], "bad_stream", "before synthesize-start"),
        ([SynthesizeStart(voice=SynthesizeVoice(name="nobody")).event()], "invalid_option", "unknown voice"),
        ([Event("synthesize", {"text": 5})], "bad_stream", "must be a string"),
        ([Event("transcribe", {"transcript_names": "abc"}), START], "bad_stream", "lists of strings"),
        ([Event("transcribe", {"language": ["zh"]}), START], "bad_stream", "must be a string"),
    ],
)
def test_bad_input_is_answered_with_an_error_event(server, events, code, words):
    _, port, _, _ = server
    error = error_of(run(exchange(port, events)))
    assert error.code == code and words in error.text, error


def test_oversized_and_malformed_events_are_refused_before_they_are_read(server):
    _, port, _, _ = server

    async def raw(data: bytes) -> list[Event]:
        async with AsyncTcpClient("127.0.0.1", port, read_timeout=30) as client:
            client._writer.write(data)  # what no well-behaved client sends
            received = []
            while (event := await client.read_event()) is not None:
                received.append(event)
            return received

    huge = AudioChunk(rate=16000, width=2, channels=1, audio=bytes(2 << 20)).event()
    error = error_of(run(exchange(port, [Transcribe().event(), START, huge])))
    assert error.code == "bad_stream" and "payload must be at most" in error.text
    assert "JSON" in error_of(run(raw(b"not json\n"))).text
    assert "JSON object" in error_of(run(raw(b"[1, 2]\n"))).text
    assert "data must be at most" in error_of(run(raw(b'{"type": "synthesize", "data_length": 9999999}\n'))).text
    assert "one JSON line" in error_of(run(raw(b"x" * 100_000))).text


def test_an_idle_stream_is_closed_with_an_error(server):
    _, port, _, _ = server
    started = time.monotonic()
    error = error_of(run(exchange(port, [Transcribe().event(), START])))
    assert error.code == "bad_stream" and "no event for 3 s" in error.text
    assert 2.5 < time.monotonic() - started < 10


def test_the_tenants_daily_quota_is_kept(server, data_dir):
    app, port, _, _ = server
    with app.state.db.session() as session:
        tenants.get_or_create_tenant(session, TENANT, quota_seconds_per_day=0.5, quota_characters_per_day=1)
    try:
        error = error_of(run(exchange(port, [Transcribe().event(), START])))
        assert error.code == "quota_exceeded" and "daily audio quota" in error.text
        error = error_of(run(exchange(port, [Synthesize(text="你好。").event()])))
        assert error.code == "quota_exceeded" and "characters" in error.text
    finally:
        with app.state.db.session() as session:
            tenant = tenants.get_or_create_tenant(session, TENANT)
            tenant.quota_seconds_per_day = tenant.quota_characters_per_day = None


@pytest.mark.slow  # starts a server process
def test_shenggu_wyoming_serves_the_protocol_alone(tmp_path):
    port = free_port()
    env = {**os.environ, "SHENGGU_DATA_DIR": str(tmp_path), "SHENGGU_PRELOAD_MODELS": "false"}
    env.pop("SHENGGU_DATABASE_URL", None)
    command = [sys.executable, "-m", "shenggu", "wyoming", "--port", str(port), "--tenant", "kitchen"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                received = run(exchange_until(port, [Describe().event()], "info"))
                break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline, process.stdout.read().decode()
                time.sleep(0.3)
        assert Info.from_event(received[0]).tts[0].voices
    finally:
        process.terminate()
        output = process.communicate(timeout=20)[0].decode()
    assert process.returncode == 0 and "wyoming stopped" in output, output
