"""Typed interface of the speaker capability: embeddings, diarization options and results."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np


class SpeakerEncoder(Protocol):
    """Turns 16 kHz mono float32 speech into fixed-size, L2-normalized speaker embeddings."""

    dim: int

    def embed(self, samples: np.ndarray) -> np.ndarray:
        """One embedding (``(dim,)``, unit length) for a whole clip of one speaker."""
        ...

    def embed_windows(
        self, samples: np.ndarray, window_s: float, hop_s: float, spans: Sequence[tuple[float, float]] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Embeddings of sliding windows over ``samples`` (inside each of ``spans`` in seconds, if given; windows
        never cross a span's edges): ``(starts_s, embeddings)`` with shapes ``(n,)`` and ``(n, dim)``, in time
        order; a span shorter than one window gives one window over all of it."""
        ...


@dataclass(frozen=True)
class SpeakerTurn:
    """One speaker talking from ``start`` to ``end`` (seconds from the start of the audio)."""

    start: float
    end: float
    speaker: str

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass
class Diarization:
    """Who spoke when in one recording: turns in time order, speakers in order of first appearance."""

    turns: list[SpeakerTurn]
    duration: float
    speakers: list[str] = field(default_factory=list)
    # Each speaker's mean embedding (unit length): to match speakers with enrolled voices.
    embeddings: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    def to_dict(self) -> dict:
        """The public JSON shape."""
        return {
            "duration": round(self.duration, 3),
            "num_speakers": len(self.speakers),
            "speakers": self.speakers,
            "turns": [{"start": round(t.start, 3), "end": round(t.end, 3), "speaker": t.speaker} for t in self.turns],
        }
