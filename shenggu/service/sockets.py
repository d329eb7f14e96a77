"""What the WebSocket endpoints share: close codes, PCM frames in, errors out (the protocol error,
``BadStreamError``, is in ``shenggu.errors``: the assistant's conversation raises it too).

Used by ``/v1/audio/stream`` (streaming ASR) and ``/v1/assistant`` (the voice assistant): both take binary
16-bit little-endian mono PCM frames at a client-chosen rate and end every fault with an ``error`` message
and a close code.
"""

from __future__ import annotations

import numpy as np
from fastapi import WebSocket, WebSocketDisconnect

from shenggu.errors import BadStreamError, ShengguError

MAX_MESSAGE_BYTES = 1 << 20
CLOSE_NORMAL, CLOSE_POLICY, CLOSE_TOO_BIG, CLOSE_ERROR, CLOSE_TRY_LATER = 1000, 1008, 1009, 1011, 1013


def sample_rate_of(websocket: WebSocket) -> int:
    """The ``sample_rate`` query parameter of a PCM stream (default 16000, 8000-48000)."""
    try:
        sample_rate = int(websocket.query_params.get("sample_rate", "16000"))
    except ValueError:
        raise BadStreamError("sample_rate must be an integer") from None
    if not 8000 <= sample_rate <= 48000:
        raise BadStreamError("sample_rate must be between 8000 and 48000")
    return sample_rate


def resampler_to_16k(sample_rate: int):
    """A streaming resampler from ``sample_rate`` to 16 kHz (None when the audio is 16 kHz already)."""
    if sample_rate == 16000:
        return None
    import soxr

    return soxr.ResampleStream(sample_rate, 16000, 1, dtype="float32")


def check_frame(data: bytes) -> None:
    """BadStreamError for a binary frame over ``MAX_MESSAGE_BYTES``."""
    if len(data) > MAX_MESSAGE_BYTES:
        raise BadStreamError(f"audio frames must be at most {MAX_MESSAGE_BYTES >> 20} MiB")


def pcm16_samples(data: bytes) -> np.ndarray:
    """16-bit little-endian PCM as float32 samples; BadStreamError for an odd number of bytes."""
    if len(data) % 2:
        raise BadStreamError("pcm_s16le frames must hold whole 16-bit samples (an even number of bytes)")
    return np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0


def pcm_samples(data: bytes, resampler) -> np.ndarray:
    """A binary frame of PCM16 as 16 kHz float32 samples; BadStreamError for an oversized or odd-length frame."""
    check_frame(data)
    samples = pcm16_samples(data)
    return resampler.resample_chunk(samples) if resampler is not None else samples


async def fail(websocket: WebSocket, code: str, message: str, close_code: int) -> None:
    """Send ``{"type": "error", ...}`` and close with ``close_code`` (quietly if the client is gone)."""
    try:
        await websocket.send_json({"type": "error", "code": code, "message": message})
        await websocket.close(close_code)
    except (WebSocketDisconnect, RuntimeError):
        pass  # the client is gone already


def close_code_for(exc: ShengguError) -> int:
    """The close code a stream refused with ``exc`` ends with: "try again later" for what the HTTP API answers 429
    or 503 (rate limits, quotas, a server too far behind the stream, no capacity), a policy violation otherwise."""
    return CLOSE_TRY_LATER if exc.http_status in (429, 503) else CLOSE_POLICY


async def refuse(websocket: WebSocket, exc: ShengguError) -> None:
    """Report why a stream cannot start or go on, and close (with :func:`close_code_for`)."""
    await fail(websocket, exc.code, exc.message, close_code_for(exc))
