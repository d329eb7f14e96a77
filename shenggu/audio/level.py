"""Recording level: audio brought to a standard loudness before level-sensitive models hear it.

Silero VAD's speech probabilities fall with the level (a quiet reading 20–30 dB down, or a child far from the
microphone, scores under its threshold although it is plainly speech), and PocketSphinx works on 16-bit samples,
where a quiet recording keeps few bits. Scaling to a standard loudness makes both independent of how loud the
recording was made; noise scaled up stays noise to the VAD.

Loudness is that of the loudest quarter second: the RMS of the 8th loudest 32 ms frame (the VAD's frames). A
click or a bump is shorter and cannot set it; a single short word is long enough to.
"""

from __future__ import annotations

import numpy as np

from shenggu.audio.vad import FRAME

_LOUD_FRAMES = 8  # the 8th loudest frame: the loudest quarter second sets the level
STANDARD_RMS = 0.1  # −20 dBFS: the loud frames of speech recorded at an ordinary level
DIGITAL_SILENCE = 1 / 32768  # one 16-bit step: a loud part quieter than this holds nothing


def loudness(audio: np.ndarray) -> float:
    """RMS of the loudest quarter second of a 16 kHz signal (of the whole signal when it is shorter)."""
    samples = np.asarray(audio, dtype=np.float32).reshape(-1)
    usable = len(samples) - len(samples) % FRAME
    if usable == 0:
        return float(np.sqrt(np.mean(np.square(samples)))) if len(samples) else 0.0
    frames = samples[:usable].reshape(-1, FRAME)
    levels = np.sqrt(np.einsum("ij,ij->i", frames, frames) / FRAME)  # RMS per frame, without a squared copy
    return float(np.sort(levels)[-min(_LOUD_FRAMES, len(levels))])


def normalize_level(audio: np.ndarray) -> np.ndarray | None:
    """``audio`` (float32) scaled so that its loudest quarter second is at ``STANDARD_RMS``; ``None`` for digital
    silence (that quarter second below one 16-bit step), which no gain turns into a recording."""
    level = loudness(audio)
    if level < DIGITAL_SILENCE:
        return None
    return np.asarray(audio, dtype=np.float32).reshape(-1) * np.float32(STANDARD_RMS / level)


__all__ = ["DIGITAL_SILENCE", "STANDARD_RMS", "loudness", "normalize_level"]
