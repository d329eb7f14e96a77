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
    speaker: str | None = None  # set by diarization


@dataclass
class Segment:
    """A stretch of speech with its text and word timings (seconds from the start of the audio)."""

    start: float
    end: float
    text: str
    words: list[Word] = field(default_factory=list)
    avg_logprob: float = 0.0
    no_speech_prob: float = 0.0
    speaker: str | None = None  # set by diarization
    translation: str | None = None  # set by speech translation (a machine draft)
    translation_problems: list[str] = field(default_factory=list)  # self-check failures: review before use


@dataclass
class Transcript:
    """The result of recognizing one recording."""

    text: str
    language: str
    duration: float
    segments: list[Segment] = field(default_factory=list)
    # Diarized transcripts only: every speaker label, in order of first appearance, with its role ("" if none).
    speakers: dict[str, str] = field(default_factory=dict)

    def speaker_name(self, segment: Segment) -> str | None:
        """How to show a segment's speaker: its role if it has one, else its label; None when not diarized."""
        if segment.speaker is None:
            return None
        return self.speakers.get(segment.speaker) or segment.speaker

    def to_dict(self) -> dict:
        """The public JSON shape: ``{"text", "language", "duration", "segments": [...]}``; segments and words carry
        a ``speaker`` only when the transcript was diarized."""
        out = {
            "text": self.text,
            "language": self.language,
            "duration": round(self.duration, 3),
            "segments": [_segment_dict(s) for s in self.segments],
        }
        if self.speakers:
            out["speakers"] = [{"speaker": label, "role": role} for label, role in self.speakers.items()]
        return out


def _segment_dict(segment: Segment) -> dict:
    out = {"start": round(segment.start, 3), "end": round(segment.end, 3), "text": segment.text}
    if segment.speaker is not None:
        out["speaker"] = segment.speaker
    if segment.translation is not None:
        out["translation"] = segment.translation
        out["translation_needs_review"] = bool(segment.translation_problems)
        out["translation_problems"] = segment.translation_problems
    out["words"] = [_word_dict(w) for w in segment.words]
    return out


def _word_dict(word: Word) -> dict:
    out = {**asdict(word), "start": round(word.start, 3), "end": round(word.end, 3)}
    out["probability"] = round(word.probability, 4)
    if word.speaker is None:
        del out["speaker"]
    return out


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
    # Pad short chunks' features with the log-mel floor (digital silence) rather than zeros (faster-whisper's
    # batched mode); an ablation switch, see ``shenggu bench asr --ablation``.
    pad_with_silence: bool = True
    # Re-decode chunks whose text is a repetition loop with a repetition penalty.
    break_loops: bool = True
    # Edits each chunk's result in place (script conversion, corrections), given a scorer of alternative texts
    # against that chunk's audio when the engine can provide one. Every engine calls it once per chunk.
    refine: Callable[[ChunkResult, TextScorer | None], None] | None = None
    # A live stream's final: it takes the next free worker before waiting calls that are not (``DecodeSlots``).
    urgent: bool = False


@dataclass
class EngineTiming:
    """Seconds one ``decode_chunks`` call spent (for its whole batch): waiting for a free worker (``queue``),
    encoding, generating text (beam search, loop checks, word timings) and refining it (``DecodeOptions.refine``:
    homophone correction)."""

    queue: float = 0.0
    encode: float = 0.0
    generate: float = 0.0
    refine: float = 0.0


@dataclass
class ChunkResult:
    """What an engine returns for one speech chunk: times relative to the chunk start; ``timing``, where the
    engine measures it, is its batch's."""

    segments: list[Segment]
    language: str
    language_probability: float = 1.0
    timing: EngineTiming | None = None


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
