"""A short spoken dictation, synthesized by shenggu's own Mandarin TTS (once per test run), for the medical tests."""

from __future__ import annotations

import functools

import numpy as np

# A section name, a command (下一项 → the next section, 现病史) and a symptom the record must keep.
DICTATION = "主诉，发热三天。下一项。患者三天前受凉后出现发热。"


@functools.cache
def dictation_audio() -> np.ndarray:
    """DICTATION spoken by the default Mandarin voice, 16 kHz, with 1 s of silence after it (so a stream ends its
    last sentence)."""
    from shenggu.config import get_settings
    from shenggu.tts.synthesis import synthesize

    chunks = synthesize(DICTATION, "zf_xiaoxiao", sample_rate=16000, settings=get_settings())
    return np.concatenate([*(c.samples for c in chunks), np.zeros(16000, np.float32)])


def dictation_wav() -> bytes:
    """:func:`dictation_audio` as a WAV file."""
    from shenggu.audio.decode import encode_wav

    return encode_wav(dictation_audio())
