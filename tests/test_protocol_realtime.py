"""OpenAI Realtime transcription sessions with the ``openai`` package's own realtime client (GA and beta) against
a real shenggu server: turns by server VAD and by commit on real recordings, G.711 audio, errors in OpenAI's
shape, keys, quota, metering and early disconnects; and pipecat voice pipelines (its OpenAI STT, Realtime STT and
TTS services, only the base URL changed) from speech to text to speech."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import time

import numpy as np
import pytest
import soxr
from openai import AsyncOpenAI
from websockets.exceptions import ConnectionClosed

from shenggu.asr.pipeline import TranscribeOptions, transcribe
from shenggu.audio import decode_audio
from shenggu.audio.encode import StreamingEncoder, pcm16
from shenggu.bench.scoring import score
from shenggu.config import Settings
from shenggu.service.app import create_app
from shenggu.service.storage import tenants
from tests.servers import call_as, running_server, tenant_keys

FIRST = ("zh_firered_BAC009S0764W0121", "甚至出现交易几乎停滞的情况")
SECOND = ("zh_wenet_BAC009S0724W0121", "广州市房地产中介协会分析")
ENGLISH = ("en_speechbrain_spk1_snt1", "THE CHILD ALMOST HURT THE SMALL DOG")
COMPLETED = "conversation.item.input_audio_transcription.completed"
DELTA = "conversation.item.input_audio_transcription.delta"
ZH_SESSION = {
    "type": "transcription",
    "audio": {
        "input": {
            "format": {"type": "audio/pcm", "rate": 24000},
            "transcription": {"model": "gpt-4o-transcribe", "language": "zh"},
            "turn_detection": {"type": "server_vad", "silence_duration_ms": 500},
        }
    },
}


@pytest.fixture(scope="module")
def server(recognizer, tmp_path_factory):
    settings = Settings(
        preload_models=False,
        job_workers=0,
        max_streams=3,
        stream_idle_seconds=3.0,
        data_dir=tmp_path_factory.mktemp("d"),
    )
    app = create_app(settings)
    keys = tenant_keys(app, "voice", "meter", "early", "pipecat")
    with running_server(app) as base:
        yield app, base, keys


def clip(data_dir, name: str) -> np.ndarray:
    return decode_audio(data_dir / "asr" / f"{name}.wav")


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(16000 * seconds), np.float32)


def at_24k(audio: np.ndarray) -> bytes:
    return pcm16(soxr.resample(audio, 16000, 24000))


def ulaw(audio: np.ndarray) -> bytes:
    """8 kHz G.711 μ-law, encoded as the standard's segment coder does (independently of the server's decoder)."""
    linear = (np.clip(soxr.resample(audio, 16000, 8000), -1, 1) * 32767).astype(np.int32)
    magnitude = np.minimum(np.abs(linear), 32635) + 0x84
    exponent = np.clip(np.floor(np.log2(magnitude)).astype(np.int32) - 7, 0, 7)
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    return (~(((linear < 0) << 7) | (exponent << 4) | mantissa) & 0xFF).astype(np.uint8).tobytes()


def client(base: str, key: str) -> AsyncOpenAI:
    return AsyncOpenAI(api_key=key, base_url=f"{base}/v1", websocket_base_url=base.replace("http", "ws") + "/v1")


def appends(data: bytes, chunk: int = 4800) -> list[dict]:
    """``input_audio_buffer.append`` events of ``chunk`` bytes (100 ms of 24 kHz PCM16)."""
    return [
        {"type": "input_audio_buffer.append", "audio": base64.b64encode(data[i : i + chunk]).decode()}
        for i in range(0, len(data), chunk)
    ]


async def exchange(connection, events: list, until, pace_s: float = 0.0, timeout: float = 90.0) -> list[dict]:
    """Send ``events`` (dicts, or raw strings/bytes sent as they are), ``pace_s`` apart, while collecting the server's
    events (as dicts) until ``until(collected)`` holds."""

    async def send() -> None:
        started = time.monotonic()
        for n, event in enumerate(events):
            await (connection.send(event) if isinstance(event, dict) else connection.send_raw(event))
            await asyncio.sleep(max(0.0, started + (n + 1) * pace_s - time.monotonic()))

    async def receive() -> list[dict]:
        received = []
        async for event in connection:
            received.append(event.to_dict())
            if until(received):
                return received
        raise AssertionError(f"the session closed early: {received}")

    sending = asyncio.create_task(send())
    try:
        return await asyncio.wait_for(receive(), timeout)
    finally:
        await sending


def completed(count: int):
    return lambda events: sum(e["type"] == COMPLETED for e in events) >= count


def of_type(events: list[dict], kind: str) -> list[dict]:
    return [e for e in events if e["type"] == kind]


async def session(base: str, key: str, events: list, until, pace_s: float = 0.0) -> list[dict]:
    async with client(base, key).realtime.connect(extra_query={"intent": "transcription"}) as connection:
        return await exchange(connection, events, until, pace_s)


def test_server_vad_turns_in_real_time(server, data_dir):
    _, base, keys = server
    (first, first_ref), (second, second_ref) = FIRST, SECOND
    audio = np.concatenate([silence(0.5), clip(data_dir, first), silence(1.5), clip(data_dir, second), silence(1.5)])
    update = {"type": "session.update", "session": ZH_SESSION}
    events = asyncio.run(session(base, keys["voice"], [update, *appends(at_24k(audio))], completed(2), pace_s=0.1))

    assert events[0]["type"] == "session.created" and events[0]["session"]["type"] == "transcription"
    (updated,) = of_type(events, "session.updated")
    audio_input = updated["session"]["audio"]["input"]
    assert audio_input["transcription"] == {"model": "gpt-4o-transcribe", "language": "zh", "prompt": ""}
    assert audio_input["turn_detection"]["type"] == "server_vad"
    assert audio_input["turn_detection"]["silence_duration_ms"] == 500
    assert audio_input["format"] == {"type": "audio/pcm", "rate": 24000}

    started, stopped = (
        of_type(events, "input_audio_buffer.speech_started"),
        of_type(events, "input_audio_buffer.speech_stopped"),
    )
    committed, done = of_type(events, "input_audio_buffer.committed"), of_type(events, COMPLETED)
    items = [e["item_id"] for e in started]
    assert len(items) == 2 and [e["item_id"] for e in stopped] == items == [e["item_id"] for e in committed]
    assert (
        [e["item_id"] for e in done] == items == [e["item"]["id"] for e in of_type(events, "conversation.item.added")]
    )
    assert [e["previous_item_id"] for e in committed] == [None, items[0]]
    for item in items:  # each turn in OpenAI's order
        kinds = [e["type"] for e in events if e.get("item_id") == item or e.get("item", {}).get("id") == item]
        order = ["input_audio_buffer.speech_started", "input_audio_buffer.speech_stopped",
                 "input_audio_buffer.committed", "conversation.item.added", COMPLETED]  # fmt: skip
        assert [k for k in kinds if k != DELTA] == order
        assert DELTA in kinds  # partials while speaking, or the transcript in one piece
    first_end = 1000 * (0.5 + len(clip(data_dir, first)) / 16000)
    assert 0 <= started[0]["audio_start_ms"] < 800 < first_end < stopped[0]["audio_end_ms"] < first_end + 1500
    assert first_end < started[1]["audio_start_ms"] < stopped[1]["audio_end_ms"]
    assert score("zh", first_ref, done[0]["transcript"]).rate <= 0.34, done[0]
    assert score("zh", second_ref, done[1]["transcript"]).rate <= 0.34, done[1]
    assert abs(done[0]["usage"]["seconds"] - stopped[0]["audio_end_ms"] / 1000) < 0.01
    # Partial text arrives while the first sentence is still spoken.
    first_delta = next(n for n, e in enumerate(events) if e["type"] == DELTA)
    assert first_delta < events.index(stopped[0])


def test_turns_committed_by_the_client_without_vad(server, data_dir):
    _, base, keys = server
    name, reference = FIRST
    audio = np.concatenate([clip(data_dir, name), silence(0.3)])
    manual = {
        "type": "transcription",
        "audio": {"input": {"turn_detection": None, "transcription": {"language": "zh"}}},
    }
    events = [
        {"type": "session.update", "session": manual},
        *appends(at_24k(audio), chunk=96000),  # 2 s per append
        {"type": "input_audio_buffer.commit", "event_id": "first"},
        {"type": "input_audio_buffer.commit", "event_id": "again"},  # nothing new to commit
        {"type": "input_audio_buffer.clear"},
    ]
    received = asyncio.run(
        session(base, keys["voice"], events, lambda got: got[-1]["type"] == "input_audio_buffer.cleared")
    )
    assert not of_type(received, "input_audio_buffer.speech_started")
    assert of_type(received, "session.updated")[0]["session"]["audio"]["input"]["turn_detection"] is None
    (committed,), (done,) = of_type(received, "input_audio_buffer.committed"), of_type(received, COMPLETED)
    assert committed["item_id"] == done["item_id"]
    assert score("zh", reference, done["transcript"]).rate <= 0.34, done
    assert abs(done["usage"]["seconds"] - len(audio) / 16000) < 0.01
    (error,) = of_type(received, "error")
    assert error["error"]["code"] == "input_audio_buffer_commit_empty" and error["error"]["event_id"] == "again"
    assert received.index(error) > received.index(done)


def test_beta_dialect_with_telephone_audio(server, data_dir):
    _, base, keys = server
    name, reference = ENGLISH
    update = {
        "type": "transcription_session.update",
        "session": {
            "input_audio_format": "g711_ulaw",
            "input_audio_transcription": {"model": "whisper-1", "language": "en", "prompt": "child, small dog"},
            "turn_detection": {"type": "server_vad"},
        },
    }
    audio = ulaw(np.concatenate([silence(0.5), clip(data_dir, name), silence(2.0)]))

    async def run() -> list[dict]:
        beta = client(base, keys["voice"]).beta.realtime
        async with beta.connect(model="whisper-1", extra_query={"intent": "transcription"}) as connection:
            return await exchange(connection, [update, *appends(audio, chunk=1600)], completed(1))

    events = asyncio.run(run())
    assert events[0]["type"] == "transcription_session.created"
    (updated,) = of_type(events, "transcription_session.updated")
    assert updated["session"]["input_audio_format"] == "g711_ulaw"
    assert updated["session"]["input_audio_transcription"]["prompt"] == "child, small dog"
    (item,), (done,) = of_type(events, "conversation.item.created"), of_type(events, COMPLETED)
    assert item["item"]["id"] == done["item_id"] and item["item"]["role"] == "user"
    assert score("en", reference, done["transcript"]).rate <= 0.3, done


def ga_update(audio_input: dict) -> dict:
    return {"type": "session.update", "session": {"type": "transcription", "audio": {"input": audio_input}}}


TOO_QUIET = {"turn_detection": {"type": "server_vad", "silence_duration_ms": 20}}
BAD_EVENTS = [
    ({"type": "response.create"}, "invalid_value", "type"),
    ({"type": "input_audio_buffer.append", "audio": "not base64!"}, "invalid_value", "audio"),
    ({"type": "input_audio_buffer.append", "audio": base64.b64encode(b"odd").decode()}, "invalid_value", "audio"),
    ({"type": "session.update", "session": {"type": "realtime"}}, "invalid_value", "session.type"),
    (ga_update({"format": {"type": "audio/mp3"}}), "invalid_value", "session.audio.input.format.type"),
    (ga_update({"format": {"rate": 4000}}), "invalid_value", "session.audio.input.format.rate"),
    (ga_update({"transcription": {"language": "fr"}}), "invalid_value", "session.audio.input.transcription.language"),
    (ga_update({"transcription": {"model": "tts-1"}}), "invalid_value", "session.audio.input.transcription.model"),
    ({"type": "transcription_session.update", "session": TOO_QUIET}, "invalid_value",
     "session.turn_detection.silence_duration_ms"),
    ("{not json", "invalid_json", None),
    (b"\x00\x01", "invalid_json", None),
    (json.dumps({"type": "input_audio_buffer.append", "audio": "A" * 1_500_000}), "invalid_value", None),
]  # fmt: skip


def test_bad_events_are_answered_in_openais_shape_and_the_session_goes_on(server):
    _, base, keys = server
    bad = [
        event if not isinstance(event, dict) else {**event, "event_id": f"bad{n}"}
        for n, (event, _, _) in enumerate(BAD_EVENTS)
    ]
    good = {"type": "session.update", "session": {"type": "transcription"}}
    events = asyncio.run(session(base, keys["voice"], [*bad, good], lambda got: got[-1]["type"] == "session.updated"))
    errors = of_type(events, "error")
    assert len(errors) == len(BAD_EVENTS), errors
    for n, (error, (event, code, param)) in enumerate(zip(errors, BAD_EVENTS, strict=True)):
        assert error["error"]["type"] == "invalid_request_error" and error["error"]["message"], error
        assert (error["error"]["code"], error["error"]["param"]) == (code, param), (event, error)
        assert error["error"]["event_id"] == (f"bad{n}" if isinstance(event, dict) else None)
    assert "unsupported event type 'response.create'" in errors[0]["error"]["message"]


def closed_after_error(base: str, key: str) -> tuple[dict, int]:
    """The error event a refused session gets, and the close code that follows it."""

    async def run() -> tuple[dict, int]:
        async with client(base, key).realtime.connect(extra_query={"intent": "transcription"}) as connection:
            error = (await connection.recv()).to_dict()
            with pytest.raises(ConnectionClosed) as closed:
                await connection.recv()
            return error, closed.value.rcvd.code

    return asyncio.run(run())


def test_a_wrong_key_is_refused(server):
    _, base, _ = server
    error, code = closed_after_error(base, "sk-not-a-shenggu-key")
    assert error["type"] == "error" and error["error"]["code"] == "invalid_api_key" and code == 1008


def stream_seconds(base: str, key: str) -> float:
    usage = call_as(base, key, "GET", "/v1/usage").json()
    return sum(row["audio_seconds"] for row in usage["data"] if row["capability"] == "stream")


def test_audio_is_metered_and_the_daily_quota_kept(server, data_dir):
    app, base, keys = server
    name, reference = FIRST
    audio = at_24k(clip(data_dir, name))
    manual = ga_update({"turn_detection": None, "transcription": {"language": "zh"}})
    clear, commit = {"type": "input_audio_buffer.clear"}, {"type": "input_audio_buffer.commit"}
    events = [manual, *appends(audio, chunk=96000), clear, *appends(audio, chunk=96000), commit]
    received = asyncio.run(session(base, keys["meter"], events, completed(1)))
    (done,) = of_type(received, COMPLETED)  # the cleared audio is not in it...
    assert score("zh", reference, done["transcript"]).rate <= 0.34, done
    deadline = time.monotonic() + 10  # metered when the server has seen the client leave
    while stream_seconds(base, keys["meter"]) == 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert abs(stream_seconds(base, keys["meter"]) - 2 * len(audio) / 48000) < 0.05  # ...but was metered
    with app.state.db.session() as db:
        tenants.get_or_create_tenant(db, "meter", quota_seconds_per_day=1.0)
    error, code = closed_after_error(base, keys["meter"])
    assert error["error"]["code"] == "quota_exceeded" and code == 1013


def test_an_early_disconnect_is_metered_and_frees_the_stream(server, data_dir):
    _, base, keys = server
    audio = at_24k(clip(data_dir, SECOND[0]))[: 2 * 48000]  # 2 s, never committed

    async def leave_early() -> None:
        async with client(base, keys["early"]).realtime.connect(extra_query={"intent": "transcription"}) as connection:
            # An event the server answers once it has taken the audio before it; then the client leaves.
            events = [*appends(audio), {"type": "response.create"}]
            await exchange(connection, events, lambda got: got[-1]["type"] == "error")

    for _ in range(4):  # more sessions than the server's 3 stream slots
        asyncio.run(leave_early())
    deadline = time.monotonic() + 10
    while stream_seconds(base, keys["early"]) < 7.99 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert abs(stream_seconds(base, keys["early"]) - 8.0) < 0.05


def test_an_idle_session_is_closed(server):
    _, base, keys = server

    async def idle() -> tuple[list[dict], int]:
        async with client(base, keys["voice"]).realtime.connect(extra_query={"intent": "transcription"}) as connection:
            received = [(await connection.recv()).to_dict(), (await connection.recv()).to_dict()]
            with pytest.raises(ConnectionClosed) as closed:
                await connection.recv()
            return received, closed.value.rcvd.code

    (created, error), code = asyncio.run(idle())
    assert created["type"] == "session.created" and code == 1008
    assert error["error"]["code"] == "bad_stream" and "no event for 3 s" in error["error"]["message"]


# --- pipecat: a voice bot's pipeline, only its services' base URL pointed at shenggu ----------------------------


def pipecat_round_trip(base: str, key: str, audio: np.ndarray, realtime: bool) -> list:
    """Run pipecat's pipeline STT → (the bot says back what it heard) → TTS on ``audio`` (16 kHz), fed as a
    transport would: 20 ms input frames between the local VAD's start and stop frames. Returns the frames that
    reached the end of the pipeline: transcriptions and synthesized audio."""
    from pipecat.frames.frames import (
        EndFrame,
        ErrorFrame,
        InputAudioRawFrame,
        TranscriptionFrame,
        TTSAudioRawFrame,
        TTSSpeakFrame,
        TTSStoppedFrame,
        VADUserStartedSpeakingFrame,
        VADUserStoppedSpeakingFrame,
    )
    from pipecat.pipeline.pipeline import Pipeline
    from pipecat.pipeline.worker import PipelineParams, PipelineWorker
    from pipecat.processors.frame_processor import FrameProcessor
    from pipecat.services.openai.stt import OpenAIRealtimeSTTService, OpenAISTTService
    from pipecat.services.openai.tts import OpenAITTSService
    from pipecat.transcriptions.language import Language
    from pipecat.workers.runner import WorkerRunner

    class SayBack(FrameProcessor):
        async def process_frame(self, frame, direction):
            await super().process_frame(frame, direction)
            await self.push_frame(frame, direction)
            if isinstance(frame, TranscriptionFrame):
                await self.push_frame(TTSSpeakFrame(frame.text))

    class Collect(FrameProcessor):
        def __init__(self) -> None:
            super().__init__()
            self.frames, self.spoken = [], asyncio.Event()

        async def process_frame(self, frame, direction):
            await super().process_frame(frame, direction)
            if isinstance(frame, TranscriptionFrame | TTSAudioRawFrame | ErrorFrame):
                self.frames.append(frame)
            if isinstance(frame, TTSStoppedFrame):
                self.spoken.set()
            await self.push_frame(frame, direction)

    async def run() -> list:
        if realtime:  # /v1/realtime; pipecat's default model, gpt-realtime-whisper
            settings = OpenAIRealtimeSTTService.Settings(language=Language.ZH)
            url = base.replace("http", "ws") + "/v1/realtime"
            stt = OpenAIRealtimeSTTService(api_key=key, base_url=url, settings=settings)
        else:  # /v1/audio/transcriptions; pipecat's default model, gpt-transcribe
            stt = OpenAISTTService(
                api_key=key, base_url=f"{base}/v1", settings=OpenAISTTService.Settings(language=Language.ZH)
            )
        tts = OpenAITTSService(api_key=key, base_url=f"{base}/v1")  # voice alloy, model gpt-4o-mini-tts
        collect = Collect()
        params = PipelineParams(audio_in_sample_rate=16000, audio_out_sample_rate=24000)
        worker = PipelineWorker(Pipeline([stt, SayBack(), tts, collect]), params=params, cancel_on_idle_timeout=False)
        started = asyncio.Event()

        @worker.event_handler("on_pipeline_started")
        async def on_started(worker, frame):
            started.set()

        async def feed() -> None:
            await asyncio.wait_for(started.wait(), 30)
            pcm = pcm16(audio)
            await worker.queue_frame(VADUserStartedSpeakingFrame())
            for i in range(0, len(pcm), 640):
                await worker.queue_frame(InputAudioRawFrame(audio=pcm[i : i + 640], sample_rate=16000, num_channels=1))
                await asyncio.sleep(0.002)
            await worker.queue_frame(VADUserStoppedSpeakingFrame())
            try:
                await asyncio.wait_for(collect.spoken.wait(), 120)
            finally:
                await worker.queue_frame(EndFrame())

        runner = WorkerRunner()
        await runner.add_workers(worker)
        await asyncio.gather(runner.run(), feed())
        return collect.frames

    return asyncio.run(run())


@pytest.fixture(scope="module")
def warm_speech(server):
    """One synthesis first: pipecat gives up on a TTS context whose first audio takes over 3 s (a cold start)."""
    _, base, keys = server
    call_as(base, keys["pipecat"], "POST", "/v1/audio/speech", json={"input": "你好。", "voice": "alloy"})


@pytest.mark.parametrize("realtime", [False, True], ids=["transcriptions", "realtime"])
def test_a_pipecat_voice_bot_round_trip(server, warm_speech, data_dir, recognizer, realtime):
    from pipecat.frames.frames import ErrorFrame, TranscriptionFrame, TTSAudioRawFrame

    _, base, keys = server
    name, reference = FIRST
    frames = pipecat_round_trip(base, keys["pipecat"], np.concatenate([clip(data_dir, name), silence(0.3)]), realtime)
    assert not [f for f in frames if isinstance(f, ErrorFrame)], frames
    (heard,) = [f for f in frames if isinstance(f, TranscriptionFrame)]
    assert score("zh", reference, heard.text).rate <= 0.34, heard.text
    spoken = [f for f in frames if isinstance(f, TTSAudioRawFrame)]
    assert spoken and {f.sample_rate for f in spoken} == {24000}
    said = np.frombuffer(b"".join(f.audio for f in spoken), dtype="<i2").astype(np.float32) / 32768
    assert 1.5 < len(said) / 24000 < 8.0
    # What the bot said is what it heard: shenggu's speech, recognized again.
    encoder = StreamingEncoder("wav", 24000)
    again = transcribe(
        io.BytesIO(encoder.encode(said) + encoder.finish()), recognizer, TranscribeOptions(language="zh")
    )
    assert score("zh", heard.text, again.text).rate <= 0.25, (heard.text, again.text)


def test_openai_voices_speak_at_openais_rate(server, warm_speech):
    _, base, keys = server
    request = {"input": "Good morning.", "voice": "ash", "model": "gpt-4o-mini-tts"}
    pcm = call_as(base, keys["pipecat"], "POST", "/v1/audio/speech", json={**request, "response_format": "pcm"})
    wav = call_as(base, keys["pipecat"], "POST", "/v1/audio/speech", json={**request, "response_format": "wav"})
    assert pcm.status_code == wav.status_code == 200
    # The WAV header's rate: en_joe's 22050 resampled. Raw PCM takes the same rate from the same request (its
    # length cannot show it: Piper's durations vary between two calls by as much as 22050 against 24000 would).
    assert int.from_bytes(wav.content[24:28], "little") == 24000
    assert len(pcm.content) % 2 == 0 and len(pcm.content) > 0.3 * 48000
    for voice in ("ballad", "cedar", "marin", "verse"):  # pipecat accepts these too
        assert (
            call_as(base, keys["pipecat"], "POST", "/v1/audio/speech", json={**request, "voice": voice}).status_code
            == 200
        )


def test_the_latency_client(server, data_dir):
    from shenggu.bench.protocol_realtime import final_latency

    _, base, keys = server
    name, reference = FIRST
    run = final_latency(base, keys["voice"], clip(data_dir, name), language="zh")
    assert score("zh", reference, run.text).rate <= 0.34, run
    assert 0.0 <= run.final_latency_s < 30 and (run.first_partial_s is None or run.first_partial_s > 0)
