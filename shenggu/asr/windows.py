"""Grouping VAD speech segments into decoding windows of at most ~28 s.

A window is a contiguous stretch of the recording from its first speech segment's start to its last one's end,
so Whisper hears natural rhythm (cutting the pauses out made it drop words); segments more than ``max_gap``
apart start a new window, so long silences are never decoded. Each window also starts up to ``lead_seconds``
before its first speech (never overlapping the previous window): Whisper cut right at the speech onset dropped
words that it kept with a little leading context.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np

from shenggu.audio.decode import SAMPLE_RATE
from shenggu.audio.vad import SpeechSegment


@dataclass
class Window:
    """Consecutive speech segments decoded together as one contiguous span of audio."""

    pieces: list[SpeechSegment] = field(default_factory=list)
    lead: float = 0.0  # seconds of audio before the first speech segment, decoded as context

    @property
    def start(self) -> float:
        """Original start time of the window (including its leading context)."""
        return self.pieces[0].start - self.lead

    @property
    def end(self) -> float:
        """Original end time of the window."""
        return self.pieces[-1].end

    @property
    def duration(self) -> float:
        """Seconds of audio in the window."""
        return self.end - self.start if self.pieces else 0.0

    def boundaries(self) -> list[float]:
        """Window-relative times of the pauses between its speech segments (where sentences may break)."""
        return [(a.end + b.start) / 2 - self.start for a, b in zip(self.pieces, self.pieces[1:], strict=False)]


def group_windows(
    segments: Iterable[SpeechSegment], max_seconds: float = 28.0, max_gap: float = 3.0, lead_seconds: float = 1.0
) -> Iterator[Window]:
    """Greedily pack consecutive speech segments into windows no longer than ``max_seconds`` (plus the lead)."""
    window = Window()
    previous_end = 0.0
    for segment in segments:
        if window.pieces and (
            segment.end - window.pieces[0].start > max_seconds or segment.start - window.end > max_gap
        ):
            yield window
            previous_end = window.end
            window = Window()
        if not window.pieces:
            window.lead = max(0.0, min(lead_seconds, segment.start - previous_end))
        window.pieces.append(segment)
    if window.pieces:
        yield window


class AudioBuffer:
    """Holds the recent part of a stream of samples, so windows can be cut out and old audio dropped."""

    def __init__(self) -> None:
        self._parts: list[np.ndarray] = []
        self._base = 0  # sample index of the first held sample
        self._length = 0

    @property
    def end_sample(self) -> int:
        """Index one past the last sample received."""
        return self._base + self._length

    def append(self, samples: np.ndarray) -> None:
        """Add samples at the end."""
        self._parts.append(samples)
        self._length += len(samples)

    def _held(self) -> np.ndarray:
        if len(self._parts) > 1:
            self._parts = [np.concatenate(self._parts)]
        return self._parts[0] if self._parts else np.zeros(0, dtype=np.float32)

    def slice(self, start_s: float, end_s: float) -> np.ndarray:
        """Samples between two original times (seconds), clipped to what is held."""
        a = max(round(start_s * SAMPLE_RATE) - self._base, 0)
        b = min(round(end_s * SAMPLE_RATE) - self._base, self._length)
        return self._held()[a:b].astype(np.float32, copy=False)

    def drop_before(self, t: float) -> None:
        """Forget audio before original time ``t`` (seconds)."""
        cut = min(int(t * SAMPLE_RATE) - self._base, self._length)
        if cut <= 0:
            return
        self._parts = [self._held()[cut:].copy()]
        self._base += cut
        self._length -= cut
