"""Text in, audio chunks out, as they are produced: front-end → engine → trimming → loudness → resampling →
pauses.

The front-end cuts the text into short pieces (the first one shortest), so the first audio is ready after one
piece, not after the whole text. Each piece's own edge silence is cut (Kokoro adds ~0.4 s before and ~0.8 s
after every piece, heard as 1.2 s gaps between pieces), so pieces join with the pause the text asks for.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from shenggu.audio.silence import trim_silence
from shenggu.config import Settings
from shenggu.errors import InvalidOptionError
from shenggu.tts.frontend import plan_speech
from shenggu.tts.types import AudioChunk, Voice
from shenggu.tts.voices import engine_for, get_voice

TARGET_RMS = 0.1  # -20 dBFS: the same loudness for every voice and engine
PEAK_LIMIT = 0.95
MAX_CHARS = 4096  # OpenAI's limit on `input`
# Silence kept on each side of a piece's sound (its blocks within 45 dB of its peak, see shenggu.audio.silence): the
# onset's lead-in and the last decay, ~45-55 dB down, fit in 30 ms; past that lies the engine's padding, 60-80 dB
# down. Pieces therefore join with the text's pause plus ~60 ms.
EDGE_KEEP_S = 0.03
# A number, so that the text normalizer's grammars load too (~1 s on first use).
WARM_UP_TEXT = {"zh": "预热第1次。", "en": "Warm up 1 time."}


def synthesize(
    text: str, voice: str, speed: float = 1.0, sample_rate: int | None = None, *, settings: Settings
) -> Iterator[AudioChunk]:
    """Speak ``text`` (plain or SSML) with ``voice`` on the engines the settings configure, yielding chunks as
    they are ready.

    Checks everything before the first chunk, so a bad request fails before any audio is sent."""
    chosen = get_voice(voice)
    _check(text, speed, sample_rate)
    pieces = plan_speech(text, chosen.language)
    if chosen.language == "en" and any(p.language == "zh" for p in pieces):
        raise InvalidOptionError(f"voice '{chosen.id}' reads English only; choose a Mandarin voice for Chinese text")
    engine = engine_for(chosen, settings)
    rate = sample_rate or chosen.sample_rate
    for piece in pieces:
        samples = trim_silence(engine.synthesize(piece, chosen, speed * piece.rate), engine.sample_rate, EDGE_KEEP_S)
        samples = _resample(_loudness(samples), engine.sample_rate, rate)
        if piece.pause_after_ms:
            samples = np.concatenate([samples, np.zeros(rate * piece.pause_after_ms // 1000, np.float32)])
        if len(samples):
            yield AudioChunk(samples, rate, piece.text, piece.pause_after_ms)


def output_rate(voice: str, sample_rate: int | None) -> int:
    """The sample rate a request's audio will have."""
    return sample_rate or get_voice(voice).sample_rate


def _check(text: str, speed: float, sample_rate: int | None) -> None:
    if not text.strip():
        raise InvalidOptionError("input is empty: nothing to say")
    if len(text) > MAX_CHARS:
        raise InvalidOptionError(f"input has {len(text)} characters; at most {MAX_CHARS} per request")
    if not 0.25 <= speed <= 4.0:
        raise InvalidOptionError(f"speed must be between 0.25 and 4.0, not {speed}")
    if sample_rate is not None and not 8000 <= sample_rate <= 48000:
        raise InvalidOptionError(f"sample_rate must be between 8000 and 48000, not {sample_rate}")


def _loudness(samples: np.ndarray) -> np.ndarray:
    """Scale to the target RMS, never past the peak limit (quiet voices louder, loud ones softer)."""
    rms = float(np.sqrt(np.mean(np.square(samples)))) if len(samples) else 0.0
    if rms < 1e-5:
        return samples
    gain = min(TARGET_RMS / rms, PEAK_LIMIT / float(np.max(np.abs(samples))))
    return (samples * gain).astype(np.float32)


def _resample(samples: np.ndarray, source: int, target: int) -> np.ndarray:
    if source == target or not len(samples):
        return samples
    import soxr

    return soxr.resample(samples, source, target).astype(np.float32)


__all__ = ["MAX_CHARS", "WARM_UP_TEXT", "AudioChunk", "Voice", "output_rate", "synthesize"]
