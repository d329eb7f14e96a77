"""Where the sound is: 10 ms blocks louder than a floor set below the loudest block.

Used to trim the silence a TTS engine leaves around each piece (Kokoro pads every piece with ~0.4 s before and
~0.8 s after its speech, 60–80 dB under it) and to measure the pauses heard between pieces. The floor is relative,
so it holds at any level: a Kokoro piece's last sound falls from 45 to ~55 dB under its peak within ~30 ms.
"""

from __future__ import annotations

import numpy as np

BLOCK_S = 0.01  # 10 ms: finer than any pause worth hearing, coarser than one pitch period
SPEECH_FLOOR_DB = 45.0  # a block within this many dB of the loudest one is sound, not silence


def block_size(sample_rate: int) -> int:
    """Samples in a 10 ms block."""
    return max(1, round(sample_rate * BLOCK_S))


def block_energy(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """Mean square of each whole 10 ms block of ``samples`` (a last partial block is left out)."""
    block = block_size(sample_rate)
    count = len(samples) // block
    frames = np.asarray(samples[: count * block], dtype=np.float32).reshape(count, block)
    return np.einsum("ij,ij->i", frames, frames) / block


def is_sound(energy: np.ndarray, loudest: float, floor_db: float = SPEECH_FLOOR_DB) -> np.ndarray:
    """Whether each block's energy is within ``floor_db`` of ``loudest`` (all ``False`` when that is 0)."""
    if loudest <= 0.0:
        return np.zeros(len(energy), bool)
    return energy >= loudest * 10 ** (-floor_db / 10)


def sound_blocks(samples: np.ndarray, sample_rate: int, floor_db: float = SPEECH_FLOOR_DB) -> np.ndarray:
    """Whether each whole 10 ms block of ``samples`` is within ``floor_db`` of the loudest block (all ``False``
    for digital silence)."""
    energy = block_energy(samples, sample_rate)
    return is_sound(energy, float(energy.max()) if len(energy) else 0.0, floor_db)


def sound_span(samples: np.ndarray, sample_rate: int, floor_db: float = SPEECH_FLOOR_DB) -> tuple[int, int] | None:
    """``(start, end)`` sample offsets from the first loud block's start to the last one's end; ``None`` when
    nothing is loud (silence)."""
    loud = np.flatnonzero(sound_blocks(samples, sample_rate, floor_db))
    if not len(loud):
        return None
    block = block_size(sample_rate)
    return int(loud[0] * block), int((loud[-1] + 1) * block)


def trim_silence(samples: np.ndarray, sample_rate: int, keep_s: float) -> np.ndarray:
    """``samples`` without the silence before and after the sound, keeping ``keep_s`` of it on each side (an
    onset's breath, a last syllable's decay); silence stays as it is."""
    span = sound_span(samples, sample_rate)
    if span is None:
        return samples
    keep = round(sample_rate * keep_s)
    return samples[max(0, span[0] - keep) : min(len(samples), span[1] + keep)]


__all__ = [
    "BLOCK_S",
    "SPEECH_FLOOR_DB",
    "block_energy",
    "block_size",
    "is_sound",
    "sound_blocks",
    "sound_span",
    "trim_silence",
]
