"""Latency of a final result through the Wyoming protocol (``shenggu bench stream --protocol wyoming``), with the
``wyoming`` package's own TCP client, as Home Assistant streams a voice command: ``transcribe``, ``audio-start``,
100 ms ``audio-chunk`` events in real time, ``audio-stop``; the final result is the ``transcript`` event, a
partial any ``transcript-chunk`` event."""

from __future__ import annotations

import asyncio
import time
from urllib.parse import urlparse

import numpy as np
from wyoming.asr import Transcribe, Transcript, TranscriptChunk
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncTcpClient
from wyoming.error import Error

from shenggu.audio import SAMPLE_RATE
from shenggu.audio.encode import pcm16
from shenggu.bench.protocols import ProtocolRun
from shenggu.errors import ShengguError

TIMEOUT_S = 60.0  # for the transcript after the last chunk


class WyomingRunError(ShengguError):
    """The Wyoming server answered with an error event, or closed the connection without a transcript."""

    code = "wyoming_error"


def final_latency(
    base: str, key: str, audio: np.ndarray, chunk_s: float = 0.1, language: str | None = None
) -> ProtocolRun:
    """Stream ``audio`` (16 kHz float32) in real time to the Wyoming server at ``base`` (``tcp://HOST:PORT``), in
    ``language`` (None: detected); ``key`` is not used (Wyoming has no keys: the server acts for the tenant its
    operator named)."""
    address = urlparse(base if "://" in base else f"tcp://{base}")
    if address.hostname is None or address.port is None:
        raise WyomingRunError(f"a Wyoming address is tcp://HOST:PORT, not '{base[:60]}'")
    return asyncio.run(_run(address.hostname, address.port, audio, chunk_s, language))


async def _run(host: str, port: int, audio: np.ndarray, chunk_s: float, language: str | None) -> ProtocolRun:
    step = max(1, int(chunk_s * SAMPLE_RATE))
    async with AsyncTcpClient(host, port) as client:
        await client.write_event(Transcribe(language=language).event())
        await client.write_event(AudioStart(rate=SAMPLE_RATE, width=2, channels=1).event())
        receiving = asyncio.create_task(_receive(client))
        started = time.monotonic()
        for offset in range(0, len(audio), step):
            chunk = AudioChunk(rate=SAMPLE_RATE, width=2, channels=1, audio=pcm16(audio[offset : offset + step]))
            await client.write_event(chunk.event())
            # Each chunk is sent when a microphone would have finished recording it.
            await asyncio.sleep(max(0.0, started + (offset + step) / SAMPLE_RATE - time.monotonic()))
        last_sent = time.monotonic()
        await client.write_event(AudioStop().event())
        text, final_at, first_partial_at = await asyncio.wait_for(receiving, TIMEOUT_S)
    first_partial = None if first_partial_at is None else first_partial_at - started
    return ProtocolRun(text, final_at - last_sent, first_partial)


async def _receive(client: AsyncTcpClient) -> tuple[str, float, float | None]:
    """The transcript's text and arrival, and the first partial's arrival (None without one)."""
    first_partial = None
    while (event := await client.read_event()) is not None:
        if TranscriptChunk.is_type(event.type) and first_partial is None:
            first_partial = time.monotonic()
        elif Transcript.is_type(event.type):
            return Transcript.from_event(event).text, time.monotonic(), first_partial
        elif Error.is_type(event.type):
            error = Error.from_event(event)
            raise WyomingRunError(f"the server answered {error.code}: {error.text}")
    raise WyomingRunError("the server closed the connection without a transcript")
