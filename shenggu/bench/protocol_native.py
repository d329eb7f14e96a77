"""Latency of a final result through shenggu's own streaming WebSocket (``shenggu bench stream --protocol
native``), with shenggu's stream client: 100 ms PCM frames in real time, then ``end``; the final result is the
last ``final`` message, a partial any ``partial`` message."""

from __future__ import annotations

import numpy as np

from shenggu.bench.protocols import ProtocolRun
from shenggu.client.stream import StreamClient, StreamClientError


def final_latency(
    base: str, key: str, audio: np.ndarray, chunk_s: float = 0.1, language: str | None = None
) -> ProtocolRun:
    """Stream ``audio`` (16 kHz float32) in real time to the server at ``base`` (``ws://HOST:PORT`` or
    ``http://…``), in ``language`` (None: detected)."""
    url = base.replace("http://", "ws://", 1).replace("https://", "wss://", 1)
    client = StreamClient(url, key or None, language=language or "auto")
    result = client.transcribe_audio(audio, realtime=True, chunk_ms=max(1, round(chunk_s * 1000)))
    result.raise_for_error()
    if not result.finals or result.last_audio_sent_at is None:
        raise StreamClientError("the stream ended without a final result")
    return ProtocolRun(
        text=result.text,
        # 0 when the final came before the audio ended (the clip's trailing silence closed the sentence)
        final_latency_s=max(0.0, result.finals[-1].received_at - result.last_audio_sent_at),
        first_partial_s=result.first_partial_s,
    )
