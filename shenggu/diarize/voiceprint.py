"""Voiceprints: a speaker's embedding from its speech, verification of a clip against one, and matching.

Only the speech of a clip counts (VAD), so leading silence or a pause does not dilute the voiceprint; a clip needs
at least ``MIN_SPEECH_S`` of speech. Scores are cosine similarities of GE2E embeddings. ``VERIFY_THRESHOLD`` is
the equal-error-rate point measured on real recordings (the halves of the 17 clips of ``shared/eval`` longer than
5 s: 17 same-speaker and 540 different-speaker pairs of 2.5–6.5 s each; EER ≈ 6 %; at 0.75 the false accepts
fall to 0.7 % and the false rejects rise to 24 %). Longer clips score higher for the same speaker.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shenggu.audio.decode import SAMPLE_RATE
from shenggu.audio.errors import SilentAudioError
from shenggu.audio.vad import VadOptions, detect_speech
from shenggu.diarize.types import SpeakerEncoder

MIN_SPEECH_S = 1.0
VERIFY_THRESHOLD = 0.64
_VAD = VadOptions(speech_pad_ms=100, min_silence_ms=300)


@dataclass(frozen=True)
class Voiceprint:
    """A unit-length speaker embedding and how many seconds of speech it was made from."""

    embedding: np.ndarray
    seconds: float

    def merged(self, other: Voiceprint) -> Voiceprint:
        """One voiceprint from two enrollments of the same speaker (weighted by their speech time)."""
        total = self.embedding * self.seconds + other.embedding * other.seconds
        return Voiceprint(_unit(total), self.seconds + other.seconds)


@dataclass(frozen=True)
class Verification:
    """The similarity of a clip to a voiceprint and whether it passes the threshold."""

    score: float
    threshold: float

    @property
    def match(self) -> bool:
        return self.score >= self.threshold


def voiceprint(samples: np.ndarray, encoder: SpeakerEncoder) -> Voiceprint:
    """The voiceprint of a clip of one speaker (16 kHz mono float32); ``SilentAudioError`` if it has less than
    ``MIN_SPEECH_S`` of speech."""
    spans = detect_speech(samples, _VAD)
    speech = [samples[int(s.start * SAMPLE_RATE) : int(s.end * SAMPLE_RATE)] for s in spans]
    seconds = sum(len(s) for s in speech) / SAMPLE_RATE
    if seconds < MIN_SPEECH_S:
        raise SilentAudioError(
            f"the clip has {seconds:.1f} s of speech; a voiceprint needs at least {MIN_SPEECH_S:.0f} s",
            len(samples) / SAMPLE_RATE,
        )
    return Voiceprint(encoder.embed(np.concatenate(speech)), seconds)


def verify(print_: Voiceprint, embedding: np.ndarray, threshold: float = VERIFY_THRESHOLD) -> Verification:
    """How like the voiceprint an embedding is."""
    return Verification(round(float(np.dot(print_.embedding, embedding)), 4), threshold)


def best_matches(
    speakers: dict[str, np.ndarray], enrolled: dict[str, np.ndarray], threshold: float = VERIFY_THRESHOLD
) -> dict[str, str]:
    """Diarized speaker → enrolled name, one-to-one, best pairs first, only pairs above ``threshold``."""
    pairs = sorted(
        ((float(np.dot(vector, print_)), speaker, name) for speaker, vector in speakers.items()
         for name, print_ in enrolled.items()),
        reverse=True,
    )  # fmt: skip
    matched: dict[str, str] = {}
    for score, speaker, name in pairs:
        if score >= threshold and speaker not in matched and name not in matched.values():
            matched[speaker] = name
    return matched


def _unit(vector: np.ndarray) -> np.ndarray:
    return (vector / max(float(np.linalg.norm(vector)), 1e-9)).astype(np.float32)
