"""Streaming recognition over WebSocket on the real recordings: protocol, endpointing, partials and faults."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
from websockets.sync.client import connect

from shenggu.asr.streaming import StreamingSession
from shenggu.audio import decode_audio
from shenggu.bench.scoring import score
from shenggu.config import Settings
from shenggu.service.app import create_app
from shenggu.service.storage import tenants
from tests.servers import running_server


@pytest.fixture(scope="module")
def stream_server(recognizer, tmp_path_factory):
    settings = Settings(
        preload_models=False,
        job_workers=0,
        max_streams=2,
        stream_idle_seconds=2.0,
        data_dir=tmp_path_factory.mktemp("data"),
    )
    app = create_app(settings)
    with app.state.db.session() as session:
        key = tenants.create_key(session, tenants.get_or_create_tenant(session, "live"))[1]
    with running_server(app) as base:
        yield base.replace("http://", "ws://"), key


def pcm(audio: np.ndarray) -> bytes:
    return (np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes()


def open_stream(server, query="language=zh", key=True):
    url, api_key = server
    headers = {"Authorization": f"Bearer {api_key}"} if key else {}
    return connect(f"{url}/v1/audio/stream?{query}", additional_headers=headers, open_timeout=10)


def run(ws, audio: bytes, chunk: int = 3200, realtime: bool = False) -> list[dict]:
    start = time.monotonic()
    for i in range(0, len(audio), chunk):
        ws.send(audio[i : i + chunk])
        if realtime:
            time.sleep(max(0.0, start + (i + chunk) / 32000 - time.monotonic()))
    ws.send(json.dumps({"type": "end"}))
    messages = []
    while True:
        message = json.loads(ws.recv(timeout=60))
        messages.append(message)
        if message["type"] in ("done", "error"):
            return messages


def test_finals_with_words_then_done(stream_server, data_dir):
    clip = data_dir / "asr" / "zh_wenet_BAC009S0724W0121.wav"
    audio = np.concatenate([decode_audio(clip), np.zeros(16000, np.float32)])
    with open_stream(stream_server) as ws:
        messages = run(ws, pcm(audio))
    assert messages[-1]["type"] == "done" and set(messages[-1]) == {"type", "lag_ms_max"}
    finals = [m for m in messages if m["type"] == "final"]
    assert finals and all(m["words"] for m in finals)
    text = "".join(m["text"] for m in finals)
    assert score("zh", "广州市房地产中介协会分析", text).rate <= 0.34, text
    assert 0.0 <= finals[0]["start"] < finals[0]["end"] <= len(audio) / 16000 + 0.01


def test_finals_report_their_lag_and_where_their_time_went(stream_server, data_dir):
    audio = np.concatenate([decode_audio(data_dir / "asr" / "zh_wenet_BAC009S0724W0121.wav"), np.zeros(16000)])
    with open_stream(stream_server) as ws:
        messages = run(ws, pcm(audio), realtime=True)
    finals = [m for m in messages if m["type"] == "final"]
    assert finals and not [m for m in messages if m["type"] == "warning"], messages
    for final in finals:
        assert 0 <= final["lag_ms"] < 1000, final  # one stream, kept up
        timing = final["timing"]
        assert {"endpoint", "backlog", "decode", "queue", "encode", "generate", "refine"} <= set(timing)
        assert timing["beam_size"] == 5 and not timing["narrowed"]


def warning_lag(messages: list[dict]) -> float:
    return max((m["lag_ms"] for m in messages if m["type"] == "warning"), default=0)


class SlowSession(StreamingSession):
    """A session on a machine too busy for it: every frame takes 0.25 s to process (100 ms frames)."""

    def accept(self, samples, backlog_s=0.0):
        time.sleep(0.25)
        return super().accept(samples, backlog_s)


def test_a_stream_falling_behind_is_warned_sheds_work_and_keeps_its_finals(stream_server, data_dir, monkeypatch):
    import shenggu.service.routers.stream as stream_router

    monkeypatch.setattr(stream_router, "StreamingSession", SlowSession)
    audio = np.concatenate([decode_audio(data_dir / "asr" / "zh_wenet_BAC009S0724W0121.wav"), np.zeros(16000)])
    with open_stream(stream_server) as ws:
        messages = run(ws, pcm(audio), realtime=True)
    assert messages[-1]["type"] == "done" and messages[-1]["lag_ms_max"] >= warning_lag(messages), messages[-1]
    (warning,) = [m for m in messages if m["type"] == "warning"]  # once: the stream never caught up
    assert warning["code"] == "falling_behind" and warning["lag_ms"] >= 3000 and "behind" in warning["message"]
    finals = [m for m in messages if m["type"] == "final"]
    assert finals and "协会" in "".join(m["text"] for m in finals)
    assert all(m["lag_ms"] >= 3000 and m["timing"]["narrowed"] and m["timing"]["beam_size"] == 1 for m in finals)
    assert not [m for m in messages if m["type"] == "partial" and messages.index(m) > messages.index(warning)]


def test_endpointing_splits_sentences_and_partials_arrive_in_real_time(stream_server, data_dir):
    first = decode_audio(data_dir / "asr" / "zh_firered_BAC009S0764W0121.wav")
    second = decode_audio(data_dir / "asr" / "zh_wenet_BAC009S0724W0121.wav")
    gap = np.zeros(int(1.5 * 16000), np.float32)
    audio = np.concatenate([first, gap, second, gap])
    with open_stream(stream_server) as ws:
        messages = run(ws, pcm(audio), realtime=True)
    finals = [m for m in messages if m["type"] == "final"]
    partials = [m for m in messages if m["type"] == "partial"]
    assert len(finals) >= 2 and partials, messages
    assert "交易" in finals[0]["text"] and finals[0]["end"] <= len(first) / 16000 + 0.5
    assert finals[-1]["start"] >= len(first) / 16000
    assert all(set(p) == {"type", "text", "start"} for p in partials)
    assert messages.index(partials[0]) < messages.index(finals[-1])  # text while still speaking


def test_other_sample_rates_are_resampled(stream_server, data_dir):
    import soxr

    audio = decode_audio(data_dir / "asr" / "en_speechbrain_spk1_snt1.wav")
    at_8k = soxr.resample(np.concatenate([audio, np.zeros(8000, np.float32)]), 16000, 8000)
    with open_stream(stream_server, "language=en&sample_rate=8000") as ws:
        messages = run(ws, pcm(at_8k), chunk=1600)
    text = " ".join(m["text"] for m in messages if m["type"] == "final").lower()
    assert "child" in text and "dog" in text


@pytest.mark.parametrize(
    ("query", "key", "send", "code"),
    [
        ("language=zh", False, None, "unauthorized"),
        ("format=opus", True, None, "bad_stream"),
        ("sample_rate=96000", True, None, "bad_stream"),
        ("language=fr", True, None, "invalid_option"),
        ("language=zh", True, b"\x01\x02\x03", "bad_stream"),
        ("language=zh", True, "hello", "bad_stream"),
        ("language=zh", True, json.dumps({"type": "pause"}), "bad_stream"),
        ("language=zh", True, b"\0" * ((1 << 20) + 2), "bad_stream"),
    ],
)
def test_faults_end_with_a_clear_error(stream_server, query, key, send, code):
    with open_stream(stream_server, query, key=key) as ws:
        if send is not None:
            ws.send(send)
        message = json.loads(ws.recv(timeout=30))
    assert message["type"] == "error" and message["code"] == code and message["message"]


def test_idle_stream_is_closed(stream_server):
    with open_stream(stream_server) as ws:
        message = json.loads(ws.recv(timeout=30))
    assert message["code"] == "bad_stream" and "idle" in message["message"]


def test_too_many_streams_and_slots_freed_on_disconnect(stream_server, data_dir):
    audio = pcm(decode_audio(data_dir / "asr" / "zh_wenet_BAC009S0724W0121.wav"))
    with open_stream(stream_server) as first, open_stream(stream_server) as second:
        first.send(audio[: len(audio) // 2])  # both mid-sentence
        second.send(audio[: len(audio) // 2])
        time.sleep(0.5)
        with open_stream(stream_server) as third:
            refused = json.loads(third.recv(timeout=30))
        assert refused["code"] == "too_many_streams"
    # Both clients vanished mid-sentence: their slots must come back.
    time.sleep(1.0)
    with open_stream(stream_server) as again:
        messages = run(again, audio + pcm(np.zeros(16000, np.float32)))
    assert messages[-1]["type"] == "done"
