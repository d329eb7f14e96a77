"""Latency of a final result through OpenAI's Realtime API (``shenggu bench stream --protocol realtime``), with the
``openai`` package's own realtime client, as a voice agent streams a microphone: a transcription session with
server VAD, 24 kHz PCM16 appends in real time, then ``input_audio_buffer.commit`` after the last one (as an
agent's own end-of-speech would); the final result is the last ``...input_audio_transcription.completed``, a
partial any ``...transcription.delta``."""

from __future__ import annotations

import asyncio
import base64
import time

import numpy as np
import soxr
from openai import AsyncOpenAI

from shenggu.audio import SAMPLE_RATE
from shenggu.audio.encode import pcm16
from shenggu.bench.protocols import ProtocolRun
from shenggu.errors import ShengguError
from shenggu.text.script import text_language

TIMEOUT_S = 60.0  # for the transcripts after the last chunk
OPENAI_RATE = 24000
FINAL_COMMIT = "event_final_commit"  # the commit after the last chunk, so its answer can be told apart


class RealtimeRunError(ShengguError):
    """The server answered with an error event, or closed the session before the last transcript."""

    code = "realtime_error"


def final_latency(
    base: str, key: str, audio: np.ndarray, chunk_s: float = 0.1, language: str | None = None
) -> ProtocolRun:
    """Stream ``audio`` (16 kHz float32) in real time to the shenggu server at ``base`` (``http://HOST:PORT``) with
    API key ``key``, in ``language`` (None: detected)."""
    return asyncio.run(_run(base.rstrip("/"), key, audio, chunk_s, language))


async def _run(base: str, key: str, audio: np.ndarray, chunk_s: float, language: str | None) -> ProtocolRun:
    client = AsyncOpenAI(
        api_key=key or "unused",  # a development server takes any key
        base_url=f"{base}/v1",
        websocket_base_url=base.replace("http", "ws", 1) + "/v1",
    )
    samples = soxr.resample(audio.astype(np.float32), SAMPLE_RATE, OPENAI_RATE)
    step = max(1, int(chunk_s * OPENAI_RATE))
    async with client.realtime.connect(extra_query={"intent": "transcription"}) as connection:
        transcription = {"model": "gpt-4o-transcribe", **({"language": language} if language else {})}
        audio_input = {"format": {"type": "audio/pcm", "rate": OPENAI_RATE}, "transcription": transcription,
                       "turn_detection": {"type": "server_vad"}}  # fmt: skip
        await connection.session.update(session={"type": "transcription", "audio": {"input": audio_input}})
        result = _Transcripts()
        receiving = asyncio.create_task(result.receive(connection))
        started = time.monotonic()
        for offset in range(0, len(samples), step):
            await connection.input_audio_buffer.append(
                audio=base64.b64encode(pcm16(samples[offset : offset + step])).decode()
            )
            # Each chunk is sent when a microphone would have finished recording it.
            await asyncio.sleep(max(0.0, started + (offset + step) / OPENAI_RATE - time.monotonic()))
        last_sent = time.monotonic()
        await connection.input_audio_buffer.commit(event_id=FINAL_COMMIT)
        await asyncio.wait_for(receiving, TIMEOUT_S)
    first_partial = None if result.first_delta_at is None else result.first_delta_at - started
    # A last sentence that server VAD closed before the audio ended was final before the last chunk: 0 s.
    return ProtocolRun(result.text, max(0.0, result.final_at - last_sent), first_partial)


class _Transcripts:
    """The session's transcripts as they arrive, until every committed turn, the final commit's included, has
    its transcript."""

    def __init__(self) -> None:
        self.items: dict[str, str | None] = {}  # committed items, in order: transcript, None until it comes
        self.stopped: set[str] = set()  # items that server VAD committed
        self.final_at = 0.0
        self.first_delta_at: float | None = None
        self.final_committed = False

    @property
    def text(self) -> str:
        """The transcripts joined (spaces between English ones)."""
        texts = [t for t in self.items.values() if t]
        return ("" if text_language("".join(texts)) == "zh" else " ").join(texts)

    async def receive(self, connection) -> None:
        async for event in connection:
            if event.type == "input_audio_buffer.speech_stopped":
                self.stopped.add(event.item_id)
            elif event.type == "input_audio_buffer.committed":
                self.items[event.item_id] = None
                self.final_committed |= event.item_id not in self.stopped
            elif event.type == "conversation.item.input_audio_transcription.delta" and self.first_delta_at is None:
                self.first_delta_at = time.monotonic()
            elif event.type == "conversation.item.input_audio_transcription.completed":
                self.items[event.item_id] = event.transcript
                if event.transcript:
                    self.final_at = time.monotonic()
            elif event.type == "error":
                if event.error.code == "input_audio_buffer_commit_empty" and event.error.event_id == FINAL_COMMIT:
                    self.final_committed = True  # server VAD had committed everything already
                else:
                    raise RealtimeRunError(f"the server answered {event.error.code}: {event.error.message}")
            if self.final_committed and None not in self.items.values():
                return
        raise RealtimeRunError("the server closed the session before the last transcript")
