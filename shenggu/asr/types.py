"""Typed interface of the speech-recognition capability: options, results and the ``Recognizer`` protocol."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Protocol

import numpy as np


@dataclass
class Word:
    """One recognized word (English) or character/word (Mandarin) with its time span in seconds."""

    start: float
    end: float
    word: str
    probability: float


@dataclass
class Segment:
    """A stretch of speech with its text and word timings (seconds from the start of the audio)."""

    start: float
    end: float
    text: str
    words: list[Word] = field(default_factory=list)
    avg_logprob: float = 0.0
    no_speech_prob: float = 0.0


@dataclass
class Transcript:
    """The result of recognizing one recording."""

    text: str
    language: str
    duration: float
    segments: list[Segment] = field(default_factory=list)

    def to_dict(self) -> dict:
        """The public JSON shape: ``{"text", "language", "duration", "segments": [...]}``."""
        return {
            "text": self.text,
            "language": self.language,
            "duration": round(self.duration, 3),
            "segments": [
                {
                    "start": round(s.start, 3),
                    "end": round(s.end, 3),
                    "text": s.text,
                    "words": [
                        {
                            **asdict(w),
                            "start": round(w.start, 3),
                            "end": round(w.end, 3),
                            "probability": round(w.probability, 4),
                        }
                        for w in s.words
                    ],
                }
                for s in self.segments
            ],
        }


# Log-probability of each text given one chunk's audio, under the recognizer's own model.
TextScorer = Callable[[Sequence[str]], list[float]]


@dataclass
class DecodeOptions:
    """Options for decoding one batch of speech chunks."""

    language: str | None = None  # "zh", "en" or None for automatic detection
    beam_size: int = 5
    hotwords: Sequence[str] = ()
    initial_prompt: str | None = None
    word_timestamps: bool = True
    # Seconds of encoder context (Whisper's window is 30 s; shorter is several times cheaper: self-attention is
    # quadratic). The context is never shorter than the longest chunk plus 2 s.
    context_s: float = 30.0
    # Edits each chunk's result in place (script conversion, corrections), given a scorer of alternative texts
    # against that chunk's audio when the engine can provide one. Every engine calls it once per chunk.
    refine: Callable[[ChunkResult, TextScorer | None], None] | None = None


@dataclass
class ChunkResult:
    """What an engine returns for one speech chunk: times relative to the chunk start."""

    segments: list[Segment]
    language: str
    language_probability: float = 1.0


class Recognizer(Protocol):
    """An ASR engine: turns short speech chunks (≤ 30 s, 16 kHz mono float32) into text with timings."""

    name: str
    workers: int
    """How many ``decode_chunks`` calls run in parallel (more calls wait for a free worker)."""

    @property
    def busy(self) -> bool:
        """Whether every worker is decoding right now (a new call would wait)."""
        ...

    @property
    def idle(self) -> bool:
        """Whether no decode is running (streams do optional work, such as partials, only then)."""
        ...

    def detect_language(self, audio: np.ndarray) -> tuple[str, float]:
        """Return the most likely language code of the audio and its probability."""
        ...

    def decode_chunks(self, chunks: Sequence[np.ndarray], options: DecodeOptions) -> list[ChunkResult]:
        """Decode several speech chunks (a batch) and return one result per chunk, in order."""
        ...


ProgressCallback = Callable[[float], None]
