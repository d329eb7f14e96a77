"""A short customer-service call spoken by two of shenggu's own Mandarin TTS voices (synthesized once per test run,
by the spoken-call benchmark's :func:`~shenggu.bench.qa_spoken.speak_turns`), for the quality-inspection tests:
stereo (agent left, customer right) and mono (both mixed) WAVs.

Synthetic speech, not a recorded call: the issue allows two TTS voices on two channels for behaviour tests. The
lines hold what the bundled ruleset looks for: a greeting, an identity check, a forbidden promise, a tag word."""

from __future__ import annotations

import functools

import numpy as np

LINES = (
    ("agent", "您好，欢迎致电声谷银行，很高兴为您服务。"),
    ("customer", "你好，我想咨询一下理财产品。"),
    ("agent", "好的，请问您是账户本人吗？"),
    ("customer", "是我本人。我要投诉上次的收费。"),
    ("agent", "这款产品保证收益，肯定没问题。"),
)


@functools.cache
def call_channels() -> tuple[np.ndarray, list[tuple[str, float, float]]]:
    """The call as a ``(2, samples)`` array (agent left, customer right; one party at a time) and each line's
    ``(party, start, end)`` in seconds."""
    from shenggu.bench.qa_spoken import speak_turns
    from shenggu.nlp.satisfaction import Turn

    sides, spoken = speak_turns([Turn(party, text) for party, text in LINES])
    return sides, [(party, start, end) for party, start, end, _ in spoken]


def stereo_wav(swap: bool = False) -> bytes:
    """The call as a 16-bit stereo WAV (agent left; right with ``swap``)."""
    from shenggu.audio.decode import encode_wav

    sides, _ = call_channels()
    return encode_wav(sides[::-1] if swap else sides)


def mono_wav() -> bytes:
    """The call mixed into one channel, as a WAV."""
    from shenggu.audio.decode import encode_wav

    sides, _ = call_channels()
    return encode_wav(sides.sum(axis=0))
