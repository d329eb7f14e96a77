"""The TTS capability's interface: voices, audio chunks, and the engine protocol."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

if TYPE_CHECKING:
    from shenggu.tts.pieces import TextPiece


@dataclass(frozen=True)
class Voice:
    """A voice that can be named in a request."""

    id: str
    language: str  # "zh" or "en": the language it reads natively
    gender: str  # "female" or "male"
    engine: str  # "kokoro" or "piper"
    sample_rate: int  # the engine's native rate; output is resampled on request
    description: str

    def to_dict(self) -> dict:
        """JSON form for the API."""
        return asdict(self)


@dataclass(frozen=True)
class AudioChunk:
    """A piece of synthesized speech, as it becomes ready: float32 mono samples in [-1, 1]."""

    samples: np.ndarray
    sample_rate: int
    text: str  # the spoken-form text it reads (empty for a pause)
    pause_ms: int = 0  # the pause the text asks for after it, already at the end of ``samples``

    @property
    def seconds(self) -> float:
        """Duration in seconds."""
        return len(self.samples) / self.sample_rate


class Synthesizer(Protocol):
    """A TTS engine: one text piece in one of its voices → float32 samples at ``sample_rate``."""

    sample_rate: int

    def synthesize(self, piece: TextPiece, voice: Voice, speed: float) -> np.ndarray:
        """Speak ``piece`` (already normalized and short enough) at ``speed`` (1.0 = natural)."""
        ...
