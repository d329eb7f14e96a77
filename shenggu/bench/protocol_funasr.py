"""A recording through FunASR's protocol with FunASR's own Python client (funasr-client), in real time: the
latency of its final result for ``shenggu bench stream --protocol funasr``, and the timed results for tests.

funasr-client's asynchronous API is used: its synchronous client (0.1.6) deadlocks in ``close()``, which takes
its lock and then sends the end message under the same lock.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

import numpy as np

from shenggu.audio.encode import pcm16
from shenggu.bench.protocols import ProtocolRun

PARTIAL, FINAL = "2pass-online", "2pass-offline"
_CLOSE_TIMEOUT_S = 120.0  # the final result of a long last sentence on a busy machine


@dataclass(frozen=True)
class FunasrRun:
    """What a client saw: the results as ``(arrival, message)`` (``time.monotonic()``), and when it sent its first
    and last audio chunk."""

    results: list[tuple[float, dict]]
    first_sent: float
    last_sent: float

    def finals(self) -> list[dict]:
        """The final results, in order."""
        return [message for _, message in self.results if message.get("mode") == FINAL]

    def text(self) -> str:
        """The finals' text joined, as funasr-client's ``merge_messages`` joins it."""
        return "".join(message["text"] for message in self.finals())


def funasr_url(base: str, key: str, language: str | None = None) -> str:
    """The FunASR URL of the shenggu server at ``base`` (``http://host:port``): ``/v1/funasr`` with the key (and the
    language, when known)."""
    parts = urlsplit(base)
    scheme = "wss" if parts.scheme == "https" else "ws"
    query = {"api_key": key, **({"language": language} if language else {})}
    return f"{scheme}://{parts.netloc}/v1/funasr?{urlencode(query)}"


async def stream_recording(
    uri: str,
    audio: np.ndarray,
    mode: str = "2pass",
    chunk_s: float = 0.1,
    hotwords: dict[str, int] | None = None,
    wav_name: str = "bench",
) -> FunasrRun:
    """Send ``audio`` (16 kHz float32) to the FunASR server at ``uri`` in ``chunk_s`` chunks, each when a
    microphone would have finished recording it, then the end; return every result with its arrival time."""
    from funasr_client import async_funasr_client

    results: list[tuple[float, dict]] = []

    async def received(message: dict) -> None:  # a coroutine: funasr-client calls it in its own task, no thread
        results.append((time.monotonic(), message))

    data, step = pcm16(audio), 2 * round(chunk_s * 16000)
    client = async_funasr_client(
        uri, mode=mode, wav_name=wav_name, audio_fs=16000, hotwords=hotwords, callback=received, decode=False
    )
    await client.connect()
    started = first_sent = time.monotonic()
    for offset in range(0, len(data), step):
        await client.send(data[offset : offset + step])
        last_sent = time.monotonic()
        await asyncio.sleep(max(0.0, started + (offset + step) / 32000 - time.monotonic()))
    await client.close(timeout=_CLOSE_TIMEOUT_S)  # sends the end, waits for the result that says is_final
    return FunasrRun(results, first_sent, last_sent)


def final_latency(
    base: str, key: str, audio: np.ndarray, chunk_s: float = 0.1, language: str | None = None
) -> ProtocolRun:
    """Stream ``audio`` in real time in 2pass mode; the final latency runs from the last chunk sent to the last
    ``2pass-offline`` result with text (0 when the server had sent it before the audio ended: the recording's
    trailing silence closed the sentence), the first partial's from the first chunk sent."""
    run = asyncio.run(stream_recording(funasr_url(base, key, language), audio, "2pass", chunk_s))
    finals = [(arrival, message) for arrival, message in run.results if message.get("mode") == FINAL]
    if not finals:
        raise RuntimeError("the FunASR stream ended without a final result")
    arrival = next((t for t, message in reversed(finals) if message["text"]), finals[-1][0])
    partials = [t for t, message in run.results if message.get("mode") == PARTIAL]
    return ProtocolRun(
        text=run.text(),
        final_latency_s=max(0.0, arrival - run.last_sent),
        first_partial_s=partials[0] - run.first_sent if partials else None,
    )
