"""Piper (VITS on onnxruntime, espeak-ng phonemes) for English: the ``en_US-joe-medium`` voice.

piper-tts and its bundled espeak-ng are GPL-3.0-or-later (see the README's licence section).
"""

from __future__ import annotations

import numpy as np

from shenggu.tts.models import piper_voice_path
from shenggu.tts.pieces import TextPiece
from shenggu.tts.types import Voice


class PiperSynthesizer:
    """One Piper voice model, loaded once and shared by threads."""

    def __init__(self) -> None:
        from piper import PiperVoice

        self._voice = PiperVoice.load(piper_voice_path())
        self.sample_rate = int(self._voice.config.sample_rate)

    def synthesize(self, piece: TextPiece, voice: Voice, speed: float) -> np.ndarray:
        """Speak one (English) piece."""
        from piper import SynthesisConfig

        # Loudness is normalized for all engines alike later; length_scale is the inverse of speed.
        config = SynthesisConfig(length_scale=1.0 / speed, normalize_audio=False)
        chunks = [c.audio_float_array for c in self._voice.synthesize(piece.text, config)]
        return np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, np.float32)
