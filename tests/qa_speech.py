"""A short customer-service call spoken by two of shenggu's own Mandarin TTS voices (synthesized once per test run),
for the quality-inspection tests: stereo (agent left, customer right) and mono (both mixed) WAVs.

Synthetic speech, not a recorded call: the issue allows two TTS voices on two channels for behaviour tests. The
lines hold what the bundled ruleset looks for: a greeting, an identity check, a forbidden promise, a tag word."""

from __future__ import annotations

import functools

import numpy as np

SAMPLE_RATE = 16000
AGENT_VOICE = "zf_xiaoxiao"
CUSTOMER_VOICE = "zm_yunjian"
# (party, text, pause in seconds before the line)
LINES = (
    ("agent", "您好，欢迎致电声谷银行，很高兴为您服务。", 0.3),
    ("customer", "你好，我想咨询一下理财产品。", 0.6),
    ("agent", "好的，请问您是账户本人吗？", 0.6),
    ("customer", "是我本人。我要投诉上次的收费。", 0.6),
    ("agent", "这款产品保证收益，肯定没问题。", 0.6),
)


@functools.cache
def _spoken(text: str, voice: str) -> np.ndarray:
    from shenggu.config import get_settings
    from shenggu.tts.synthesis import synthesize

    return np.concatenate(
        [c.samples for c in synthesize(text, voice, sample_rate=SAMPLE_RATE, settings=get_settings())]
    )


@functools.cache
def call_channels() -> tuple[np.ndarray, list[tuple[str, float, float]]]:
    """The call as a ``(2, samples)`` array (agent left, customer right; one party at a time) and each line's
    ``(party, start, end)`` in seconds."""
    pieces: list[tuple[str, int, np.ndarray]] = []
    cursor = 0
    for party, text, pause in LINES:
        audio = _spoken(text, AGENT_VOICE if party == "agent" else CUSTOMER_VOICE)
        cursor += int(pause * SAMPLE_RATE)
        pieces.append((party, cursor, audio))
        cursor += audio.size
    sides = np.zeros((2, cursor + SAMPLE_RATE), np.float32)
    for party, start, audio in pieces:
        sides[0 if party == "agent" else 1, start : start + audio.size] = audio
    return sides, [(p, s / SAMPLE_RATE, (s + a.size) / SAMPLE_RATE) for p, s, a in pieces]


def wav_of(sides: np.ndarray) -> bytes:
    """A ``(channels, samples)`` 16 kHz array as a 16-bit WAV with that many channels."""
    import io
    import wave

    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(sides.shape[0])
        writer.setsampwidth(2)
        writer.setframerate(SAMPLE_RATE)
        writer.writeframes((np.clip(sides.T, -1, 1) * 32767).astype("<i2").tobytes())
    return buffer.getvalue()


def stereo_wav(swap: bool = False) -> bytes:
    """The call as a 16-bit stereo WAV (agent left; right with ``swap``)."""
    sides, _ = call_channels()
    return wav_of(sides[::-1] if swap else sides)


def mono_wav() -> bytes:
    """The call mixed into one channel, as a WAV."""
    from shenggu.audio.decode import encode_wav

    sides, _ = call_channels()
    return encode_wav(sides.sum(axis=0))
