"""Real-time recognition of an audio stream: VAD endpointing, cheap partials, full-quality finals.

No streaming Mandarin model installs here, so a stream is recognized sentence by sentence: Silero VAD (carried
state, frame by frame) finds where a sentence ends after ``end_silence_ms`` of silence, and that sentence is
decoded like a file window (beam search, word timings, homophone correction, punctuation, ITN), conditioned on
the stream's previous sentences as Whisper conditions on previous text.

Where the time goes, and what hides it:

* A final's encoder context is ``final_context_s`` (15 s) rather than Whisper's 30 s: 3x cheaper, same error
  rate on the development clips (``bench stream`` checks it against file mode).
* Speculative finals: once a sentence has been silent for ``speculate_ms`` (shorter than ``end_silence_ms``), it
  is decoded at final quality right away. If the silence lasts, that decode *is* the final, ready when the
  endpoint fires; if speech resumes, its text goes out as a partial. Either way the work is used. Callers see it
  as ``speculative_final`` (the voice assistant prepares its answer from it during the pause).
* Partials are greedy, without word timings, on an encoder context only as long as the sentence, at most one
  per ``partial_interval_s`` per stream, and only when no decode is running: finals go first, so more streams
  mean fewer partials, not later finals.

Never falling behind. The caller tells ``accept`` how long the audio it passes has waited to be processed (its
backlog: the server's reader queues frames as they arrive). A stream that falls behind sheds work in a declared
order (``Shedding``): partials first, then speculative finals, then beam width for finals (narrow, then greedy),
never finals themselves. Each final reports the backlog it was produced at and where its time went
(``FinalTiming``).
"""

from __future__ import annotations

import math
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace

import numpy as np

from shenggu.asr.pipeline import SUPPORTED_LANGUAGES, TranscribeOptions, decode_options_for, window_segments
from shenggu.asr.postprocess import PostprocessOptions
from shenggu.asr.types import DecodeOptions, EngineTiming, Recognizer, Segment
from shenggu.asr.windows import AudioBuffer, Window
from shenggu.audio.decode import SAMPLE_RATE
from shenggu.audio.vad import SpeechSegment, StreamingVad, VadOptions
from shenggu.errors import InvalidOptionError
from shenggu.lazy import once
from shenggu.text.chinese import to_simplified


@dataclass(frozen=True)
class Shedding:
    """Backlogs (seconds the audio waited before it was processed) at which a stream sheds work, in this order.

    Declared, not tuned: a partial older than a third of a second is stale (a partial is sent at most once a
    second anyway); a speculative final is wasted whenever speech resumes; at 1.5 s behind a final's beam shrinks
    to ``NARROW_BEAM`` (a beam search of 5 costs ~2x greedy on these CPUs), past 3 s to greedy, and the client is
    warned. Finals are never dropped. For a final decoded while the engine is busy with other work, "behind"
    counts the decode it is about to cost too (its sentence's length times the stream's recent decode speed): a
    long sentence on a busy machine is decoded narrower before it costs seconds, not after."""

    partials_s: float = 0.3
    speculation_s: float = 0.8
    narrow_beam_s: float = 1.5
    greedy_s: float = 3.0
    warn_s: float = 3.0  # the server warns the client (once, and again after it caught up)

    @classmethod
    def never(cls) -> Shedding:
        """No shedding at any lag (offline runs, where lag means nothing)."""
        return cls(*(math.inf,) * 5)

    def beam_size(self, backlog_s: float, beam_size: int) -> int:
        """The beam width for a final decoded at ``backlog_s`` (``beam_size`` when not behind)."""
        if backlog_s >= self.greedy_s:
            return 1
        return min(beam_size, NARROW_BEAM) if backlog_s >= self.narrow_beam_s else beam_size


NARROW_BEAM = 2
# Seconds a full-beam final takes per second of sentence before a stream has measured its own: 4 streams on 2
# busy cores decoded ~4 s sentences in ~1 s (bench stream).
FIRST_DECODE_SPEED = 0.25
_SPEED_MEMORY = 0.3  # weight of the newest full-beam decode in the running estimate


@dataclass
class StreamOptions:
    """How a stream is segmented and how often partials are produced."""

    language: str | None = None
    hotwords: list[str] = field(default_factory=list)
    vocabulary: list[str] = field(default_factory=list)  # see TranscribeOptions.vocabulary
    end_silence_ms: int = 400
    speculate_ms: int = 100  # silence after which the open sentence is decoded in advance; 0: never
    max_sentence_s: float = 20.0
    short_sentence_ms: int = 1000  # sentences with less speech wait for short_silence_ms (see VadOptions)
    short_silence_ms: int = 1200
    long_sentence_s: float = 8.0  # longer sentences close at a 200 ms pause (see VadOptions)
    final_context_s: float = 15.0  # encoder context of a final (Whisper's full window is 30 s)
    # Where a final may be decoded unlike file mode; each is a switch of `shenggu bench stream --ablation`.
    final_lead_s: float | None = 1.0  # audio before a sentence, decoded as context; None: file mode's front
    # Silence, not zeros, in every language: the file-mode ablation that chose zeros for Mandarin used 30 s of
    # context, a final 15 s, and with zeros a repeated sentence lost its repetition. None: file mode's front.
    final_pad_with_silence: bool | None = True
    prompt_chars: int = 100  # the stream's previous text a final is conditioned on (~20 English words); 0: none
    partial_interval_s: float = 1.0
    partial_min_new_s: float = 0.4  # new audio needed before another partial is worth it
    shedding: Shedding = field(default_factory=Shedding)
    post: PostprocessOptions = field(default_factory=PostprocessOptions)  # finals' clean-up (punctuation, ITN)

    def __post_init__(self) -> None:
        if not 100 <= self.end_silence_ms <= 5000:
            raise InvalidOptionError("end_silence_ms must be between 100 and 5000")
        if not 0 <= self.speculate_ms < self.end_silence_ms:
            raise InvalidOptionError("speculate_ms must be at least 0 and less than end_silence_ms")
        if not 2.0 <= self.max_sentence_s <= 28.0:
            raise InvalidOptionError("max_sentence_s must be between 2 and 28")
        if self.final_lead_s is not None and not 0.0 <= self.final_lead_s <= 2.0:
            raise InvalidOptionError("final_lead_s must be between 0 and 2")
        if self.prompt_chars < 0:
            raise InvalidOptionError("prompt_chars must not be negative")


@dataclass(frozen=True)
class Partial:
    """The open sentence's text so far."""

    text: str
    start: float


@dataclass(frozen=True)
class FinalTiming:
    """Where a final's time went, in seconds: ``endpoint`` (silence heard before the sentence was closed),
    ``backlog`` (how long the closing audio waited to be processed), ``decode`` (waiting for the decode after the
    close: 0 when a speculative final had it ready) and the engine's parts of that decode (``queue`` for a free
    engine worker, ``encode``, ``generate`` (beam search, loops, word timings), ``refine`` (homophone correction);
    0 for a speculative final, whose decode ran during the pause), the ``beam_size`` it was decoded with and
    whether that was ``narrowed`` to catch up."""

    endpoint: float
    backlog: float
    decode: float
    queue: float = 0.0
    encode: float = 0.0
    generate: float = 0.0
    refine: float = 0.0
    beam_size: int = 5
    narrowed: bool = False
    speculative: bool = False

    def to_dict(self) -> dict:
        """Milliseconds, for a JSON message."""
        ms = {
            name: round(1000 * getattr(self, name), 1)
            for name in ("endpoint", "backlog", "decode", "queue", "encode", "generate", "refine")
        }
        return {**ms, "beam_size": self.beam_size, "narrowed": self.narrowed, "speculative": self.speculative}


@dataclass(frozen=True)
class Final:
    """A closed sentence, finished like file-mode output, with its timing."""

    segment: Segment
    timing: FinalTiming | None = None


@dataclass(frozen=True)
class SpeculativeFinal:
    """The open sentence decoded at final quality during the pause it is in now: the final it gets if the
    silence lasts until the endpoint (``start``: the sentence's, ``silence_start``: the pause's)."""

    start: float
    silence_start: float
    language: str
    segments: list[Segment]


@dataclass(frozen=True)
class _Decoded:
    """A final's decode: its language, output segments and the engine's timing (None where not measured)."""

    language: str
    segments: list[Segment]
    engine: EngineTiming | None = None
    beam_size: int = 5
    speed: float | None = None  # wall seconds per second of audio (None: too short to tell)


@dataclass(frozen=True)
class _Decode:
    """A sentence's audio and the options to decode it with, cut out on the stream's own thread."""

    window: Window
    audio: np.ndarray
    options: DecodeOptions
    language: str | None  # None: detect first


@dataclass
class _Preview:
    """Optional work running in the background: a speculative final or a partial of the open sentence."""

    start: float  # the open sentence's start: a result for another sentence is stale
    future: Future
    silence_start: float | None = None  # speculation: the pause it was started in
    reported: bool = False

    def decoded_pause(self, start: float, silence_start: float | None) -> bool:
        """Whether this is a speculation that decoded the sentence opened at ``start`` up to the pause that
        began at ``silence_start``."""
        return (
            silence_start is not None
            and self.silence_start is not None
            and self.start == start
            and abs(self.silence_start - silence_start) < 1e-6
        )

    @property
    def text(self) -> str:
        """The finished work's text: a partial's own, or a speculation's segments joined."""
        result = self.future.result()
        if self.silence_start is None:
            return result
        return _text_of(result.segments, result.language)


@once
def _preview_pool() -> ThreadPoolExecutor:
    """Threads for previews, shared by all streams (the engine's workers bound the real concurrency)."""
    return ThreadPoolExecutor(max_workers=4, thread_name_prefix="stream-preview")


class StreamingSession:
    """One audio stream. Not thread-safe: feed it from one task at a time.

    ``accept`` blocks only to decode a final that no speculation prepared; partials and speculative finals run
    in background threads and are reported by a later ``accept``, so the stream never falls behind for them.
    """

    def __init__(self, recognizer: Recognizer, options: StreamOptions | None = None) -> None:
        self.recognizer = recognizer
        self.options = options or StreamOptions()
        self.transcribe_options = TranscribeOptions(
            language=self.options.language,
            hotwords=self.options.hotwords,
            vocabulary=self.options.vocabulary,
            lead_seconds=self.options.final_lead_s,
            pad_with_silence=self.options.final_pad_with_silence,
            post=self.options.post,
        )
        self.language = self.transcribe_options.language
        self._vad = StreamingVad(
            VadOptions(
                min_silence_ms=self.options.end_silence_ms,
                max_speech_s=self.options.max_sentence_s,
                short_speech_ms=self.options.short_sentence_ms,
                short_silence_ms=max(self.options.short_silence_ms, self.options.end_silence_ms),
                long_speech_s=self.options.long_sentence_s,
            )
        )
        self._buffer = AudioBuffer()
        self._previous_end = 0.0
        self._last_partial_at = 0.0
        self._last_partial_audio = 0.0
        self._last_partial_text = ""
        self._history = ""  # finals so far (their tail is the next final's prompt)
        self._speculation: _Preview | None = None
        self._partial: _Preview | None = None
        self.backlog_s = 0.0  # how long the audio being processed waited for it (the caller measures it)
        self.decode_speed = FIRST_DECODE_SPEED  # recent full-beam finals: wall seconds per second of sentence

    @property
    def audio_seconds(self) -> float:
        """Audio received so far."""
        return self._buffer.end_sample / SAMPLE_RATE

    @property
    def speech_start(self) -> float | None:
        """Where the sentence being spoken now began (seconds into the stream, with the VAD's pre-roll); None
        between sentences. A protocol that reports when speech starts and stops watches it across ``accept``."""
        return self._vad.open_start

    @property
    def speculative_final(self) -> SpeculativeFinal | None:
        """The open sentence's speculative final for its current pause, once decoded; None in speech, while the
        decode runs, when it failed, or when there is none (``speculate_ms`` 0, engine busy)."""
        start, silence_start = self._vad.open_start, self._vad.open_silence_start
        speculation = self._speculation
        if (
            start is None
            or silence_start is None
            or speculation is None
            or not speculation.decoded_pause(start, silence_start)
            or not speculation.future.done()
            or speculation.future.exception() is not None
        ):
            return None
        decoded = speculation.future.result()
        return SpeculativeFinal(start, silence_start, decoded.language, decoded.segments)

    def accept(self, samples: np.ndarray, backlog_s: float = 0.0) -> list[Partial | Final]:
        """Consume 16 kHz float32 samples; return the finals of sentences that closed, then maybe a partial.

        ``backlog_s``: how long these samples waited to be processed after they arrived (0 for a caller that
        processes audio as it comes); a stream behind real time sheds work (``StreamOptions.shedding``)."""
        self.backlog_s = max(0.0, backlog_s)
        samples = np.asarray(samples, dtype=np.float32)
        self._buffer.append(samples)
        pad = self._vad.pad_seconds
        closed = self._vad.accept(samples)
        events: list[Partial | Final] = [e for seg in closed for e in self._final(seg, seg.end - pad)]
        events.extend(self._finished_previews())
        if not self._start_speculation():
            self._start_partial()
        self._forget_old_audio()
        return events

    def finish(self) -> list[Final]:
        """End of stream: close and decode the open sentence."""
        silence_start = self._vad.open_silence_start
        return [e for seg in self._vad.flush() for e in self._final(seg, silence_start)]

    def _final(self, speech: SpeechSegment, silence_start: float | None) -> list[Final]:
        """Close a sentence: the speculative decode if it heard this sentence's audio, else decode it now."""
        speculation, self._speculation, self._partial = self._speculation, None, None
        end = min(speech.end, self.audio_seconds)
        started = time.perf_counter()
        speculative = speculation is not None and speculation.decoded_pause(speech.start, silence_start)
        if speculative:
            decoded = speculation.future.result()
        else:
            # What this decode will add to the lag, counted when it shares the engine: alone, a final costs what
            # it costs and delays no one.
            cost = 0.0 if self.recognizer.idle else (end - speech.start) * self.decode_speed
            beam = self.options.shedding.beam_size(self.backlog_s + cost, self.transcribe_options.beam_size)
            decoded = _run_final(self.recognizer, self.transcribe_options, self._prepare(speech.start, end, beam))
        if decoded.speed is not None and decoded.beam_size == self.transcribe_options.beam_size:
            self.decode_speed += _SPEED_MEMORY * (decoded.speed - self.decode_speed)
        timing = FinalTiming(
            endpoint=max(0.0, self.audio_seconds - silence_start) if silence_start is not None else 0.0,
            backlog=self.backlog_s,
            decode=time.perf_counter() - started,
            **({} if speculative or decoded.engine is None else vars(decoded.engine)),
            beam_size=decoded.beam_size,
            narrowed=decoded.beam_size < self.transcribe_options.beam_size,
            speculative=speculative,
        )
        language, segments = decoded.language, decoded.segments
        self.language = self.language or language
        self._previous_end = end
        self._last_partial_text = ""
        separator = "" if self.language == "zh" else " "
        history = self._history + separator + _text_of(segments, self.language or "zh")
        self._history = history[-self.options.prompt_chars :] if self.options.prompt_chars else ""
        return [Final(s, timing) for s in segments]

    def _prepare(self, start: float, end: float, beam_size: int | None = None) -> _Decode:
        """A sentence as a final decodes it: file-mode options (``beam_size`` narrower when shedding), this
        stream's previous text as the prompt."""
        lead = max(0.0, min(self._lead_seconds, start - self._previous_end))
        window = Window([SpeechSegment(start, end)], lead=lead)
        options = replace(
            decode_options_for(self.transcribe_options, self.language or "zh"),
            initial_prompt=self._history.strip() or None,
            # Whisper misreads long sentences in a short context (words dropped at 12 s in 15 s): twice the length.
            context_s=max(self.options.final_context_s, 2 * window.duration),
            beam_size=beam_size or self.transcribe_options.beam_size,
            urgent=True,  # ahead of any file's waiting windows on a shared engine
        )
        return _Decode(window, self._buffer.slice(window.start, window.end), options, self.language)

    def _finished_previews(self) -> list[Partial]:
        """Partials from background work that finished since the last call and still concern the open sentence."""
        texts = []
        for preview in (self._speculation, self._partial):
            if preview is None or preview.reported or not preview.future.done():
                continue
            preview.reported = True
            if preview.start != self._vad.open_start or preview.future.exception() is not None:
                continue
            texts.append(preview.text)
        partials = []
        for text in texts:
            if text and text != self._last_partial_text:
                self._last_partial_text = text
                partials.append(Partial(text, round(self._vad.open_start or 0.0, 3)))
        return partials

    def _start_speculation(self) -> bool:
        """During a pause long enough to be a sentence end, start decoding the open sentence at final quality."""
        start, silence_start = self._vad.open_start, self._vad.open_silence_start
        running = self._speculation is not None and not self._speculation.future.done()
        if (
            not self.options.speculate_ms
            or start is None
            or silence_start is None
            or self.audio_seconds - silence_start < self.options.speculate_ms / 1000
            or running
            or (self._speculation is not None and self._speculation.silence_start == silence_start)
            or self.recognizer.busy
            or self.backlog_s >= self.options.shedding.speculation_s
        ):
            return False
        decode = self._prepare(start, min(silence_start + self._vad.pad_seconds, self.audio_seconds))
        future = _preview_pool().submit(_run_final, self.recognizer, self.transcribe_options, decode)
        self._speculation = _Preview(start, future, silence_start)
        self._last_partial_at, self._last_partial_audio = time.monotonic(), self.audio_seconds
        return True

    def _start_partial(self) -> None:
        """Now and then, and only while the engine is idle, start a cheap greedy decode of the open sentence."""
        start = self._vad.open_start
        now = time.monotonic()
        if (
            start is None
            or now - self._last_partial_at < self.options.partial_interval_s
            or self.audio_seconds - self._last_partial_audio < self.options.partial_min_new_s
            or (self._partial is not None and not self._partial.future.done())
            or not self.recognizer.idle  # never delay any stream's final for a partial
            or self.backlog_s >= self.options.shedding.partials_s
        ):
            return
        audio = self._buffer.slice(max(start, self.audio_seconds - self.options.max_sentence_s), self.audio_seconds)
        self._last_partial_at, self._last_partial_audio = now, self.audio_seconds
        future = _preview_pool().submit(_run_partial, self.recognizer, audio, self.language)
        self._partial = _Preview(start, future)

    def _forget_old_audio(self) -> None:
        """Keep only what a final or partial can still need: memory stays flat over hours.

        An open sentence needs its audio plus the lead before it; in silence, a sentence that opens next starts at
        most the pre-roll before the frame that opens it, so the last lead + 1 s is enough.
        """
        open_start = self._vad.open_start
        keep_from = open_start if open_start is not None else self.audio_seconds - 1.0
        self._buffer.drop_before(max(0.0, keep_from - self._lead_seconds))

    @property
    def _lead_seconds(self) -> float:
        """The leading context before a sentence (file mode's for the language when not set)."""
        return self.transcribe_options.decoding_front(self.language).lead_seconds


def _run_final(recognizer: Recognizer, options: TranscribeOptions, decode: _Decode) -> _Decoded:
    """Decode a sentence as a final (any thread)."""
    if len(decode.audio) < SAMPLE_RATE // 10:
        return _Decoded(decode.language or "zh", [], beam_size=decode.options.beam_size)
    language = decode.language
    if language is None:
        detected = recognizer.detect_language(decode.audio)[0]
        language = detected if detected in SUPPORTED_LANGUAGES else "en"
    engine_options = replace(decode.options, language=language, refine=decode_options_for(options, language).refine)
    started = time.perf_counter()
    result = recognizer.decode_chunks([decode.audio], engine_options)[0]
    segments = window_segments(decode.window, result, language, options)
    seconds = len(decode.audio) / SAMPLE_RATE
    speed = (time.perf_counter() - started) / seconds if seconds >= 1.0 else None  # shorter: mostly overhead
    return _Decoded(language, segments, result.timing, engine_options.beam_size, speed)


def _run_partial(recognizer: Recognizer, audio: np.ndarray, language: str | None) -> str:
    """A partial's text (any thread): greedy, no word timings, the sentence's own length of encoder context."""
    language = language or recognizer.detect_language(audio)[0]
    language = language if language in SUPPORTED_LANGUAGES else "en"
    options = DecodeOptions(language=language, beam_size=1, word_timestamps=False, context_s=0.0)
    text = recognizer.decode_chunks([audio], options)[0].segments[0].text.strip()
    return to_simplified(text) if language == "zh" else text


def _text_of(segments: list[Segment], language: str) -> str:
    return ("" if language == "zh" else " ").join(s.text for s in segments)
