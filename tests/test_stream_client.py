"""The streaming-ASR client, `shenggu stream`'s printer and `shenggu bench stream`, against a fake WebSocket server.

The fake speaks the protocol of ``/v1/audio/stream``: a partial per 0.1 s of audio received, a final per whole
second (and one for the remainder at ``end``), then ``done``. The real model server is tested elsewhere.
"""

from __future__ import annotations

import io
import json
import math
import socket
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path

import numpy as np
import pytest
from websockets.sync.server import ServerConnection, serve

from shenggu.audio import encode_wav
from shenggu.bench.manifest import ManifestEntry
from shenggu.bench.stream import (
    StreamBenchConfig,
    clip_row,
    deal_round_robin,
    percentile,
    run_stream_bench,
    summarize,
)
from shenggu.client import (
    ConsolePrinter,
    DoneMessage,
    FinalMessage,
    PartialMessage,
    StreamClient,
    StreamClientError,
    StreamResult,
    WarningMessage,
)
from shenggu.client.console import tail_fitting
from shenggu.client.stream import MAX_FRAME_BYTES, _SendClock, join_texts, parse_event, pcm16_bytes, stream_url
from shenggu.errors import InvalidOptionError
from shenggu.reports.page import REPORT_NAME
from shenggu.reports.results import RESULTS_NAME

RATE = 16000
BYTES_PER_SECOND = RATE * 2
PARTIAL_BYTES = BYTES_PER_SECOND // 10
KEY = "secret-key"


# --------------------------------------------------------------------------------------------------------
# The fake server
# --------------------------------------------------------------------------------------------------------


@dataclass
class FakeServer:
    """How the fake behaves, and what it saw and sent."""

    require_key: bool = False
    fail_after_bytes: int | None = None  # send an error once this much audio arrived
    skip_done: bool = False  # close normally after 'end' without sending 'done'
    hang: bool = False  # after 'end', send nothing more and wait for the client to give up
    url: str = ""
    requests: list = field(default_factory=list)  # (path, headers) of each accepted handshake
    frames: list[int] = field(default_factory=list)  # sizes of the binary frames received
    sent: list[str] = field(default_factory=list)  # types of the messages sent, in order
    received_bytes: int = 0

    def send(self, conn: ServerConnection, message: dict) -> None:
        self.sent.append(message["type"])
        conn.send(json.dumps(message))

    def final(self, conn: ServerConnection, start: float, end: float) -> None:
        word = {"start": start, "end": end, "word": f"s{int(start)}", "probability": 0.9}
        self.send(conn, {"type": "final", "text": f"s{int(start)}", "start": start, "end": end, "words": [word]})

    def handle(self, conn: ServerConnection) -> None:
        self.requests.append((conn.request.path, conn.request.headers))
        received = 0
        for message in conn:
            if isinstance(message, str):
                assert json.loads(message) == {"type": "end"}
                if received % BYTES_PER_SECOND:
                    self.final(conn, received // BYTES_PER_SECOND, received / BYTES_PER_SECOND)
                if self.hang:
                    continue  # until the client closes
                if not self.skip_done:
                    self.send(conn, {"type": "done"})
                return
            self.frames.append(len(message))
            before, received = received, received + len(message)
            self.received_bytes = received
            if self.fail_after_bytes is not None and received >= self.fail_after_bytes:
                self.send(conn, {"type": "error", "code": "model_error", "message": "the model broke\nbadly"})
                return
            for n in range(before // PARTIAL_BYTES, received // PARTIAL_BYTES):
                sentence = (n * PARTIAL_BYTES) // BYTES_PER_SECOND
                self.send(conn, {"type": "partial", "text": f"p{n}", "start": float(sentence)})
            for second in range(before // BYTES_PER_SECOND, received // BYTES_PER_SECOND):
                self.final(conn, float(second), float(second + 1))

    def check_key(self, conn: ServerConnection, request):
        if self.require_key and request.headers.get("Authorization") != f"Bearer {KEY}":
            body = json.dumps({"error": {"code": "unauthorized", "message": "missing or wrong API key"}})
            return conn.respond(HTTPStatus.UNAUTHORIZED, body)
        return None


@contextmanager
def fake_server(**behaviour) -> Iterator[FakeServer]:
    state = FakeServer(**behaviour)
    with serve(state.handle, "127.0.0.1", 0, process_request=state.check_key, compression=None) as server:
        state.url = f"ws://127.0.0.1:{server.socket.getsockname()[1]}"
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield state
        finally:
            server.shutdown()
            thread.join(timeout=5)


def noise(seconds: float) -> np.ndarray:
    return (np.random.default_rng(0).uniform(-0.3, 0.3, round(seconds * RATE))).astype(np.float32)


def write_wav(path: Path, seconds: float) -> Path:
    path.write_bytes(encode_wav(noise(seconds)))
    return path


# --------------------------------------------------------------------------------------------------------
# The client
# --------------------------------------------------------------------------------------------------------


def test_transcribe_file_collects_events_in_order(tmp_path):
    wav = write_wav(tmp_path / "a.wav", 2.5)
    events = []
    with fake_server() as server:
        client = StreamClient(server.url, key=KEY, language="en", hotwords=["太乙真人", "a，b"])
        result = client.transcribe_file(wav, on_event=events.append)

    sent = [type(e).__name__.removesuffix("Message").lower() for e in events]
    assert sent == server.sent  # every message, in the server's order
    assert isinstance(events[-1], DoneMessage) and result.error is None
    assert len(result.partials) == 25 and all(isinstance(p, PartialMessage) for p in result.partials)
    assert [(f.start, f.end) for f in result.finals] == [(0.0, 1.0), (1.0, 2.0), (2.0, 2.5)]
    assert result.text == "s0 s1 s2" and result.finals[0].words[0].word == "s0"
    assert result.audio_seconds == pytest.approx(2.5) and server.received_bytes == 2.5 * BYTES_PER_SECOND
    assert len(result.final_latencies_s) == 3 and all(0 <= s < 1.0 for s in result.final_latencies_s)
    assert result.first_partial_s is not None and 0 <= result.first_partial_s < 1.0
    # One handshake, with the key in the header and the stream's parameters in the query.
    [(path, headers)] = server.requests
    assert headers["Authorization"] == f"Bearer {KEY}"
    assert path.startswith("/v1/audio/stream?")
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(path).query))
    assert query == {"language": "en", "sample_rate": "16000", "format": "pcm_s16le", "hotwords": "太乙真人,a,b"}


def test_realtime_pace_and_latencies():
    with fake_server() as server:
        result = StreamClient(server.url).transcribe_audio(noise(1.0), realtime=True, chunk_ms=100)
    assert 1.0 <= result.wall_s < 2.5  # a microphone's pace, not faster
    assert [(f.start, f.end) for f in result.finals] == [(0.0, 1.0)]
    assert all(0 <= s < 0.5 for s in result.final_latencies_s)  # loopback: the final follows its audio at once
    assert 0 <= result.first_partial_s < 0.5
    # Partials were read while the audio was still being sent, not all at the end.
    assert result.partials[-1].received_at - result.partials[0].received_at > 0.6


def test_send_clock_maps_audio_time_to_send_time():
    clock = _SendClock(start=0.0, audio_ends=[0.1, 0.2, 0.3], sent_at=[10.0, 11.0, 12.0], end_sent_at=13.0)
    assert clock.when_sent(0.0) == 10.0
    assert clock.when_sent(0.15) == 11.0
    assert clock.when_sent(0.2) == clock.when_sent(0.2004) == 11.0  # a rounded server time is not a chunk late
    assert clock.when_sent(0.3) == 12.0
    assert clock.when_sent(0.35) == 13.0  # past the audio: known when 'end' was sent
    assert _SendClock(start=5.0).when_sent(1.0) == 5.0


def test_server_error_ends_the_stream_early():
    with fake_server(fail_after_bytes=BYTES_PER_SECOND // 2) as server:
        result = StreamClient(server.url).transcribe_audio(noise(3.0), realtime=True)
    assert result.error is not None and result.error.code == "model_error"
    assert server.received_bytes < 3 * BYTES_PER_SECOND  # sending stopped at the error
    with pytest.raises(StreamClientError) as info:
        result.raise_for_error()
    assert info.value.code == "stream_error" and info.value.server_code == "model_error"
    assert str(info.value) == "model_error: the model broke badly"  # one line


def test_close_without_done_is_an_error():
    with fake_server(skip_done=True) as server:
        result = StreamClient(server.url).transcribe_audio(noise(0.5))
    assert result.error is not None and result.error.code == "connection_closed"
    assert [f.end for f in result.finals] == [0.5]  # what arrived is kept


def test_a_quiet_server_times_out():
    with fake_server(hang=True) as server:
        result = StreamClient(server.url, idle_timeout_s=0.5).transcribe_audio(noise(0.3))
    assert result.error is not None and result.error.code == "timeout"
    assert len(result.finals) == 1


@pytest.mark.parametrize("key", [None, "wrong"])
def test_rejected_handshake_is_one_line(key):
    with fake_server(require_key=True) as server, pytest.raises(StreamClientError) as info:
        StreamClient(server.url, key=key).connect()
    message = str(info.value)
    assert "\n" not in message and "HTTP 401" in message and "unauthorized: missing or wrong API key" in message
    assert "/v1/audio/stream" in message


def test_connection_refused_is_one_line():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound but not listening: connections are refused
        with pytest.raises(StreamClientError) as info:
            StreamClient(f"ws://127.0.0.1:{port}", key=KEY).transcribe_audio(noise(0.1))
    message = str(info.value)
    assert message.startswith(f"cannot connect to ws://127.0.0.1:{port}/v1/audio/stream")
    assert "\n" not in message and KEY not in message


def test_parts_need_a_connection():
    client = StreamClient("ws://127.0.0.1:1")
    for call in (client.messages, client.end, lambda: client.send_pcm(b"")):
        with pytest.raises(StreamClientError, match="not connected"):
            call()


def test_big_sends_are_split_into_frames():
    with fake_server() as server:
        client = StreamClient(server.url).connect()
        client.send_pcm(bytes(MAX_FRAME_BYTES + MAX_FRAME_BYTES // 2))
        client.end()
        events = list(client.messages())
        client.close()
    assert server.frames == [MAX_FRAME_BYTES, MAX_FRAME_BYTES // 2]
    assert isinstance(events[-1], DoneMessage) and sum(isinstance(e, FinalMessage) for e in events) == 50  # 49.152 s


def test_pcm16_conversion():
    floats = np.array([0.0, 0.5, -1.0, 2.0, np.nan], dtype=np.float32)
    assert np.frombuffer(pcm16_bytes(floats), "<i2").tolist() == [0, 16384, -32767, 32767, 0]
    ints = np.array([1, -2, 300], dtype=np.int16)
    assert pcm16_bytes(ints) == ints.astype("<i2").tobytes() == pcm16_bytes(ints.tobytes())
    assert pcm16_bytes(ints.astype(">i2")) == pcm16_bytes(ints)  # sent little-endian whatever the input
    with pytest.raises(InvalidOptionError):
        pcm16_bytes(b"\x00\x01\x02")
    with pytest.raises(InvalidOptionError):
        pcm16_bytes(np.array([1, 2], dtype=np.int32))


def test_stream_url():
    params = "language=zh&sample_rate=16000&format=pcm_s16le"
    assert stream_url("ws://h:1", "zh", 16000, []) == f"ws://h:1/v1/audio/stream?{params}"
    assert stream_url("http://h:1/", "zh", 16000, []) == f"ws://h:1/v1/audio/stream?{params}"
    assert stream_url("wss://h/x/stream?api_key=k&language=en", "zh", 16000, []).startswith(
        "wss://h/x/stream?api_key=k&language=zh&"
    )
    with pytest.raises(InvalidOptionError):
        stream_url("ftp://h", "zh", 16000, [])


def test_join_texts():
    assert join_texts(["你好。", " 世界"]) == "你好。世界"
    assert join_texts(["Hello.", "World", ""]) == "Hello. World"
    assert join_texts([]) == ""


# --------------------------------------------------------------------------------------------------------
# `shenggu stream`'s printer
# --------------------------------------------------------------------------------------------------------


def test_console_printer_in_a_pipe_and_on_a_terminal():
    events = [
        PartialMessage("he", 0.0, 0),
        PartialMessage("hello", 0.0, 0),
        FinalMessage("hello.", 0.0, 1.25, (), 0),
        WarningMessage("falling_behind", "recognition is 3.1 s behind", 3100.0, 0),
        DoneMessage(0),
    ]
    pipe, tty = io.StringIO(), io.StringIO()
    for event in events:
        ConsolePrinter(pipe, tty=False)(event)
    printer = ConsolePrinter(tty, tty=True)
    for event in events:
        printer(event)
    assert pipe.getvalue() == "~ he\n~ hello\n[0.00-1.25] hello.\n! recognition is 3.1 s behind\n"
    assert tty.getvalue() == "\r\x1b[Khe\r\x1b[Khello\r\x1b[K[0.00-1.25] hello.\n! recognition is 3.1 s behind\n"


def test_tail_fitting():
    assert tail_fitting("hello", 5) == "hello"
    assert tail_fitting("hello world", 6) == "…world"
    assert tail_fitting("一二三四", 5) == "…三四"  # CJK characters take two cells


# --------------------------------------------------------------------------------------------------------
# `shenggu bench stream`
# --------------------------------------------------------------------------------------------------------

SUMMARY_KEYS = {
    "streams",
    "final_latency_ms_p50",
    "final_latency_ms_p99",
    "first_partial_ms_p50",
    "cer_zh",
    "wer_en",
    "realtime_ok",
    "finals",
    "errors",
    "audio_seconds",
    "lag_ms_p50",
    "lag_ms_p99",
    "lag_ms_max",
    "warnings",
    "narrowed_finals",
    "speculative_share",
    "latency_parts_ms",
}


def entry(clip_id: str, language: str, reference: str, path: Path = Path("x.wav"), seconds: float = 1.0):
    return ManifestEntry(clip_id, language, "asr", path, seconds, reference, "A", "")


def result(text: str, latencies: list[float], first_partial: float | None, wall: float, error=None) -> StreamResult:
    finals = [FinalMessage(text, 0.0, 1.0, (), 0.0) for _ in latencies]
    return StreamResult(finals, [], error, text, 1.0, latencies, first_partial, wall)


def test_percentile():
    assert percentile([], 50) is None
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile([10.0], 99) == 10.0
    assert percentile(list(range(101)), 99) == pytest.approx(99.0)


def test_deal_round_robin():
    assert deal_round_robin([0, 1, 2, 3, 4], 2) == [[0, 2, 4], [1, 3]]
    assert deal_round_robin(["a", "b"], 3) == [["a"], ["b"], ["a"]]  # no stream is left idle
    assert deal_round_robin([], 2) == [[], []]


def test_summary_of_rows():
    rows = [
        clip_row(0, entry("z1", "zh", "今天天气"), 1.0, result("今天天汽", [0.1, 0.3], 0.05, 1.2), None),
        clip_row(1, entry("z2", "zh", "你好"), 1.0, result("你好", [0.2], None, 2.5), None),
    ]
    summary = summarize(rows, streams=2)
    assert set(summary) == SUMMARY_KEYS
    assert summary["final_latency_ms_p50"] == 200.0 and summary["first_partial_ms_p50"] == 50.0
    assert summary["cer_zh"] == pytest.approx(1 / 6, abs=1e-4) and summary["wer_en"] is None
    assert summary["finals"] == 3 and summary["errors"] == 0 and summary["audio_seconds"] == 2.0
    assert summary["realtime_ok"]  # 2.5 s for 1 s of audio is within the 2 s slack

    failed = clip_row(0, entry("e1", "en", "hi there"), 1.0, result("", [], None, math.nan), "model_error: boom")
    summary = summarize([*rows, failed], streams=2)
    assert summary["errors"] == 1 and not summary["realtime_ok"] and summary["wer_en"] == 1.0
    slow = clip_row(0, entry("z3", "zh", "好"), 1.0, result("好", [0.1], 0.1, 3.5), None)
    assert not summarize([slow], streams=1)["realtime_ok"]
    assert summarize([], streams=1)["final_latency_ms_p50"] is None


def test_summary_of_lag_and_latency_parts():
    timing = {"endpoint": 400.0, "backlog": 100.0, "decode": 300.0, "encode": 80.0, "generate": 200.0}
    finals = [
        FinalMessage("好", 0.0, 1.0, (), 0.0, 100.0, {**timing, "narrowed": False, "speculative": True}),
        FinalMessage("的", 1.0, 2.0, (), 0.0, 3100.0, {**timing, "backlog": 3100.0, "narrowed": True}),
    ]
    warned = WarningMessage("falling_behind", "behind", 3100.0, 0.0)
    streamed = StreamResult(finals, [], None, "好的", 2.0, [0.9, 3.9], None, 4.0, [warned], lag_ms_max=5200.0)
    summary = summarize([clip_row(0, entry("z1", "zh", "好的", seconds=2.0), 2.0, streamed, None)], streams=1)
    # the finals' lags, and the server's own furthest-behind from its done message
    assert summary["lag_ms_max"] == 5200.0 and summary["lag_ms_p50"] == 1600.0 and summary["warnings"] == 1
    assert summary["narrowed_finals"] == 1 and summary["speculative_share"] == 0.5
    parts = summary["latency_parts_ms"]
    # what the server's parts leave of the latency the client saw: 900 - 800, 3900 - 3800
    assert parts["other"] == {"p50": 100.0, "p99": 100.0} and parts["endpoint"]["p50"] == 400.0
    assert parts["backlog"]["p99"] == pytest.approx(3070.0) and parts["refine"]["p50"] == 0.0


def test_warnings_and_final_timings_are_parsed():
    final = parse_event(json.dumps({"type": "final", "text": "好", "start": 0, "end": 1, "words": [], "lag_ms": 12,
                                    "timing": {"decode": 250.5, "narrowed": False, "note": "x"}}), 5.0)  # fmt: skip
    assert final.lag_ms == 12.0 and final.timing == {"decode": 250.5, "narrowed": 0.0}
    old_server = parse_event(json.dumps({"type": "final", "text": "好", "start": 0, "end": 1}), 5.0)
    assert old_server.lag_ms is None and old_server.timing == {}
    warning = parse_event(json.dumps({"type": "warning", "code": "falling_behind", "message": "m", "lag_ms": 3100}), 1)
    assert warning == WarningMessage("falling_behind", "m", 3100.0, 1)
    assert parse_event(json.dumps({"type": "done", "lag_ms_max": 40}), 2) == DoneMessage(2, 40.0)
    assert parse_event(json.dumps({"type": "done"}), 2) == DoneMessage(2)


def test_bench_stream_end_to_end(tmp_path):
    write_wav(tmp_path / "zh.wav", 1.2)
    write_wav(tmp_path / "en.wav", 0.5)
    manifest = tmp_path / "manifest.tsv"
    header = "id\tlanguage\ttask\tpath\tduration_s\treference_text\tref_quality\tnotes"
    lines = [header, "zh1\tzh\tasr\tzh.wav\t1.2\ts0s1\tA\t", "en1\ten\tasr\ten.wav\t0.5\ts0\tB\t"]
    lines.append("c1\ten\tasr\ten.wav\t0.5\tignored\tC\t")  # quality C is not streamed
    manifest.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    with fake_server() as server:
        summary = run_stream_bench(StreamBenchConfig(manifest, out, streams=3, url=server.url))

    assert set(summary) == SUMMARY_KEYS
    assert summary["streams"] == 3 and summary["errors"] == 0 and summary["realtime_ok"]
    assert summary["finals"] == 5  # zh1 twice (2 finals each: 1 s + remainder), en1 once
    assert summary["cer_zh"] == 0.0 and summary["wer_en"] == 0.0
    assert summary["audio_seconds"] == pytest.approx(2.9)
    document = json.loads((out / RESULTS_NAME).read_text(encoding="utf-8"))
    assert [(u["stream"], u["id"]) for u in document["utterances"]] == [(0, "zh1"), (1, "en1"), (2, "zh1")]
    assert "html" in (out / REPORT_NAME).read_text(encoding="utf-8")[:100]
