"""Real-time recognition of an audio stream: VAD endpointing, cheap partials, full-quality finals.

No streaming Mandarin model installs here, so a stream is recognized sentence by sentence: Silero VAD (carried
state, frame by frame) finds where a sentence ends after ``end_silence_ms`` of silence, and that sentence is
decoded exactly like a file window (beam search, word timings, homophone correction, punctuation, ITN).

Partials are the costly part (re-decoding the open sentence). They are greedy, without word timings, on an
encoder context only as long as the sentence (not Whisper's 30 s), at most one per ``partial_interval_s`` per
stream, and only when the shared model is idle: finals go first, so more streams mean fewer partials, not later
finals.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from shenggu.asr.pipeline import SUPPORTED_LANGUAGES, TranscribeOptions, decode_options_for, window_segments
from shenggu.asr.types import DecodeOptions, Recognizer, Segment
from shenggu.asr.windows import AudioBuffer, Window
from shenggu.audio.decode import SAMPLE_RATE
from shenggu.audio.vad import SpeechSegment, StreamingVad, VadOptions
from shenggu.errors import InvalidOptionError
from shenggu.nlp.chinese import to_simplified

_LEAD_SECONDS = 1.0  # leading context before a sentence, as in file mode


@dataclass
class StreamOptions:
    """How a stream is segmented and how often partials are produced."""

    language: str | None = None
    hotwords: list[str] = field(default_factory=list)
    end_silence_ms: int = 500
    max_sentence_s: float = 20.0
    partial_interval_s: float = 1.0
    partial_min_new_s: float = 0.4  # new audio needed before another partial is worth it

    def __post_init__(self) -> None:
        if not 100 <= self.end_silence_ms <= 5000:
            raise InvalidOptionError("end_silence_ms must be between 100 and 5000")
        if not 2.0 <= self.max_sentence_s <= 28.0:
            raise InvalidOptionError("max_sentence_s must be between 2 and 28")


@dataclass(frozen=True)
class Partial:
    """The open sentence's text so far."""

    text: str
    start: float


@dataclass(frozen=True)
class Final:
    """A closed sentence, finished like file-mode output."""

    segment: Segment


class StreamingSession:
    """One audio stream. Not thread-safe: feed it from one task at a time."""

    def __init__(self, recognizer: Recognizer, options: StreamOptions | None = None) -> None:
        self.recognizer = recognizer
        self.options = options or StreamOptions()
        self.transcribe_options = TranscribeOptions(language=self.options.language, hotwords=self.options.hotwords)
        self.language = self.transcribe_options.language
        self._vad = StreamingVad(
            VadOptions(min_silence_ms=self.options.end_silence_ms, max_speech_s=self.options.max_sentence_s)
        )
        self._buffer = AudioBuffer()
        self._previous_end = 0.0
        self._last_partial_at = 0.0
        self._last_partial_audio = 0.0
        self._last_partial_text = ""

    @property
    def audio_seconds(self) -> float:
        """Audio received so far."""
        return self._buffer.end_sample / SAMPLE_RATE

    def accept(self, samples: np.ndarray) -> list[Partial | Final]:
        """Consume 16 kHz float32 samples; return the finals of sentences that closed, then maybe a partial."""
        samples = np.asarray(samples, dtype=np.float32)
        self._buffer.append(samples)
        events: list[Partial | Final] = [e for seg in self._vad.accept(samples) for e in self._final(seg)]
        partial = self._partial()
        if partial is not None:
            events.append(partial)
        self._forget_old_audio()
        return events

    def finish(self) -> list[Final]:
        """End of stream: close and decode the open sentence."""
        return [e for seg in self._vad.flush() for e in self._final(seg)]

    def _final(self, speech: SpeechSegment) -> list[Final]:
        end = min(speech.end, self.audio_seconds)
        lead = max(0.0, min(_LEAD_SECONDS, speech.start - self._previous_end))
        window = Window([SpeechSegment(speech.start, end)], lead=lead)
        self._previous_end = end
        self._last_partial_text = ""
        audio = self._buffer.slice(window.start, window.end)
        if len(audio) < SAMPLE_RATE // 10:
            return []
        if self.language is None:
            detected = self.recognizer.detect_language(audio)[0]
            self.language = detected if detected in SUPPORTED_LANGUAGES else "en"
        result = self.recognizer.decode_chunks([audio], decode_options_for(self.transcribe_options, self.language))[0]
        return [Final(s) for s in window_segments(window, result, self.language, self.transcribe_options)]

    def _partial(self) -> Partial | None:
        start = self._vad.open_start
        now = time.monotonic()
        if (
            start is None
            or now - self._last_partial_at < self.options.partial_interval_s
            or self.audio_seconds - self._last_partial_audio < self.options.partial_min_new_s
            or self.recognizer.busy  # never delay another stream's final for a partial
        ):
            return None
        start = max(start, self.audio_seconds - self.options.max_sentence_s)
        audio = self._buffer.slice(start, self.audio_seconds)
        self._last_partial_at, self._last_partial_audio = now, self.audio_seconds
        language = self.language or self.recognizer.detect_language(audio)[0]
        options = DecodeOptions(
            language=language if language in SUPPORTED_LANGUAGES else "en",
            beam_size=1,
            word_timestamps=False,
            compact=True,  # a partial is a preview: a short encoder context is 3-5x cheaper
        )
        text = self.recognizer.decode_chunks([audio], options)[0].segments[0].text.strip()
        text = to_simplified(text) if language == "zh" else text
        if not text or text == self._last_partial_text:
            return None
        self._last_partial_text = text
        return Partial(text, round(start, 3))

    def _forget_old_audio(self) -> None:
        """Keep only what a final or partial can still need: memory stays flat over hours.

        An open sentence needs its audio plus the lead before it; in silence, a sentence that opens next starts at
        most the pre-roll before the frame that opens it, so the last lead + 1 s is enough.
        """
        open_start = self._vad.open_start
        keep_from = open_start if open_start is not None else self.audio_seconds - 1.0
        self._buffer.drop_before(max(0.0, keep_from - _LEAD_SECONDS))
