"""The file-transcription pipeline: stream-decode → VAD → windows → batched recognition → clean-up.

Audio is decoded in 30 s chunks and only the speech still waiting to be recognized is held, so memory stays flat
however long the recording is. Windows are decoded ``batch_size`` at a time.
"""

from __future__ import annotations

import functools
import itertools
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace

import numpy as np

from shenggu.asr.homophones import correct_words
from shenggu.asr.postprocess import (
    PostprocessOptions,
    collapse_loops,
    finish_segment,
    is_hallucination,
    simplify_words,
)
from shenggu.asr.types import (
    ChunkResult,
    DecodeOptions,
    ProgressCallback,
    Recognizer,
    Segment,
    TextScorer,
    Transcript,
    Word,
)
from shenggu.asr.windows import AudioBuffer, Window, group_windows
from shenggu.audio import SilentAudioError, iter_audio_chunks, probe_duration
from shenggu.audio.decode import AudioSource
from shenggu.audio.vad import SpeechSegment, StreamingVad, VadOptions
from shenggu.config import Settings
from shenggu.errors import InvalidOptionError

SUPPORTED_LANGUAGES = ("zh", "en")
_MAX_SEGMENT_SECONDS = 12.0  # longer runs of words are split at sentence ends for readable subtitles
_SENTENCE_END = ".?!。？！"
_SENTENCE_PAUSE_S = 1.0  # a pause at least this long inside a window ends a sentence (not tuned on the dev set)


@dataclass
class TranscribeOptions:
    """What a caller can ask of a transcription."""

    language: str | None = None  # "zh", "en" or None to detect
    hotwords: list[str] = field(default_factory=list)
    # Domain terms (a knowledge base's words, say: hundreds) that homophone correction may restore, as it does
    # hotwords; unlike hotwords they do not prompt a second decoding pass, which a long list would only truncate.
    vocabulary: list[str] = field(default_factory=list)
    initial_prompt: str | None = None
    beam_size: int = 5
    batch_size: int = 1  # the operator's choice comes from the settings: `batched_as`
    parallel_batches: int = 1
    correct: bool = True  # pinyin-aware homophone correction with a Chinese word LM
    # The decoding front; each is a switch of `shenggu bench asr --ablation`, None: the language's default.
    lead_seconds: float | None = None  # audio before a window's first speech, decoded as context (windows.py)
    pad_with_silence: bool | None = None  # pad short windows' features with silence, not zeros (whisper.py)
    loop_guards: bool = True  # re-decode repetition loops and cut repeated runs of words
    # Speech less than this apart (after VAD padding) is decoded in one window, for context. One side of a stereo
    # call asks for less: there a gap is usually the other party's turn, and one window across it gives one
    # segment spanning both turns.
    window_gap_s: float = 3.0
    vad: VadOptions = field(default_factory=VadOptions)
    post: PostprocessOptions = field(default_factory=PostprocessOptions)

    def __post_init__(self) -> None:
        if self.language in ("", "auto"):
            self.language = None
        if self.language is not None and self.language not in SUPPORTED_LANGUAGES:
            raise InvalidOptionError(
                f"unsupported language '{self.language}' (choose from: {', '.join(SUPPORTED_LANGUAGES)}, auto)"
            )
        if not 1 <= self.beam_size <= 10:
            raise InvalidOptionError("beam_size must be between 1 and 10")

    def batched_as(self, settings: Settings) -> TranscribeOptions:
        """These options with the batching the settings configure (``asr_batch_size``, ``asr_parallel_batches``)."""
        return replace(self, batch_size=settings.asr_batch_size, parallel_batches=settings.asr_parallel_batches)

    def decoding_front(self, language: str | None) -> DecodingFront:
        """The language's default front (``default_front``) with these options' own settings where given."""
        default = default_front(language)
        return DecodingFront(
            default.lead_seconds if self.lead_seconds is None else self.lead_seconds,
            default.pad_with_silence if self.pad_with_silence is None else self.pad_with_silence,
        )


@dataclass(frozen=True)
class DecodingFront:
    """How windows are cut and padded for the recognizer."""

    lead_seconds: float
    pad_with_silence: bool


# Chosen by `shenggu bench asr --ablation` on the evaluation set: a stage stays on only where its bootstrap interval
# over clips excludes harm. For Mandarin both the 1 s lead and the silence padding cost errors on most
# leave-one-clip-out folds; for English both saved errors and harmed no clip. Language detection happens after the
# windows are cut, so undeclared languages get the English front's lead.
DECODING_FRONTS = {"zh": DecodingFront(0.0, False), "en": DecodingFront(1.0, True)}


def default_front(language: str | None) -> DecodingFront:
    """The decoding front chosen for ``language`` (English's for an undeclared or other language)."""
    return DECODING_FRONTS.get(language or "en", DECODING_FRONTS["en"])


def _speech_stream(
    source: AudioSource, vad: StreamingVad, buffer: AudioBuffer, name: str | None
) -> Iterator[SpeechSegment]:
    for chunk in iter_audio_chunks(source, 30.0, name=name):
        buffer.append(chunk)
        yield from vad.accept(chunk)
    yield from vad.flush()


def transcribe(
    source: AudioSource,
    recognizer: Recognizer,
    options: TranscribeOptions | None = None,
    progress: ProgressCallback | None = None,
    name: str | None = None,
) -> Transcript:
    """Recognize a whole recording of any length; raises an ``AudioError`` for bad or speechless input."""
    options = options or TranscribeOptions()
    total = probe_duration(source) if progress else None
    buffer = AudioBuffer()
    vad = StreamingVad(options.vad)
    language = options.language
    segments: list[Segment] = []
    batch: list[Window] = []
    in_flight: deque[tuple[list[Window], Future[list[ChunkResult]]]] = deque()
    found_speech = False

    def submit(pool: ThreadPoolExecutor) -> None:
        nonlocal language
        audios = [buffer.slice(w.start, w.end) for w in batch]
        if language is None:
            language = recognizer.detect_language(audios[0])[0]
            if language not in SUPPORTED_LANGUAGES:
                language = "en"
        decoding = pool.submit(recognizer.decode_chunks, audios, decode_options_for(options, language))
        in_flight.append((list(batch), decoding))
        batch.clear()

    def collect_oldest() -> None:
        windows, future = in_flight.popleft()
        for window, result in zip(windows, future.result(), strict=True):
            segments.extend(window_segments(window, result, language or "zh", options))
        buffer.drop_before(windows[-1].end)  # batches in flight hold their own slices
        if progress and total:
            progress(min(vad.processed_seconds / total, 1.0))

    # Up to ``parallel`` batches decoding (one per engine worker) and one more queued behind them, so a worker
    # that finishes early starts the next batch instead of idling until the oldest is collected (with 2 workers
    # on 10 minutes of Mandarin: 1.85 of 2 busy on average without the queued batch, 1.97 with it). Results are
    # collected in order, so memory stays bounded.
    parallel = max(1, min(options.parallel_batches, recognizer.workers))
    with ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="asr-batch") as pool:
        speech = _speech_stream(source, vad, buffer, name)
        lead = options.decoding_front(options.language).lead_seconds
        for window in group_windows(speech, max_gap=options.window_gap_s, lead_seconds=lead):
            found_speech = True
            batch.append(window)
            if len(batch) >= options.batch_size:
                if len(in_flight) > parallel:
                    collect_oldest()
                submit(pool)
        if batch:
            submit(pool)
        while in_flight:
            collect_oldest()
    duration = buffer.end_sample / 16000
    if not found_speech:
        raise SilentAudioError(
            f"no speech found in {name or 'the audio'} ({duration:.1f} s of silence or noise)", duration
        )
    if progress:
        progress(1.0)
    language = language or "zh"
    separator = "" if language == "zh" else " "
    text = separator.join(s.text for s in segments)
    return Transcript(text=text, language=language, duration=duration, segments=segments)


def decode_options_for(options: TranscribeOptions, language: str) -> DecodeOptions:
    """Engine options for final decoding of one language, with the per-chunk clean-up hook."""
    return DecodeOptions(
        language=language,
        beam_size=options.beam_size,
        hotwords=tuple(options.hotwords),
        initial_prompt=options.initial_prompt,
        pad_with_silence=options.decoding_front(language).pad_with_silence,
        break_loops=options.loop_guards,
        refine=functools.partial(_refine, options, language),
    )


def _refine(options: TranscribeOptions, language: str, result: ChunkResult, scorer: TextScorer | None) -> None:
    """Per-chunk text fixes that need the engine: loops, script, and (Mandarin) homophone correction, whose
    candidates the engine's own model scores against the audio."""
    decoded = result.segments[0]
    if is_hallucination(decoded) or not decoded.text.strip():
        decoded.words, decoded.text = [], ""
        return
    decoded.words = decoded.words or [Word(0.0, decoded.end, decoded.text, 1.0)]
    if options.loop_guards:
        decoded.words = collapse_loops(decoded.words)
    if language != "zh":
        return
    if options.post.simplified:
        simplify_words(decoded.words)
    if options.correct:
        correct_words(decoded.words, hotwords=[*options.hotwords, *options.vocabulary], scorer=scorer)


def window_segments(window: Window, result: ChunkResult, language: str, options: TranscribeOptions) -> list[Segment]:
    """Map a decoded window back to original times and cut it into output segments."""
    words = result.segments[0].words
    if not words:
        return []
    groups = _split_words(words, window.boundaries())
    for w in words:
        w.start, w.end = w.start + window.start, w.end + window.start
    # A pause that VAD cut at inside a window is often a breath inside a sentence (在看到。那个): only a long one,
    # or the window's end, ends a sentence.
    ends = [b[0].start - a[-1].end >= _SENTENCE_PAUSE_S for a, b in itertools.pairwise(groups)] + [True]
    return [s for g, end in zip(groups, ends, strict=True) if (s := finish_segment(g, language, options.post, end))]


def _split_words(words: list[Word], boundaries: list[float]) -> list[list[Word]]:
    """Cut words into segments at the pauses VAD found (at the nearest gap between words, never inside one);
    runs still longer than ``_MAX_SEGMENT_SECONDS`` are cut after a sentence end."""
    cuts = set()
    for b in boundaries:
        gaps = [abs((words[i].end + words[i + 1].start) / 2 - b) for i in range(len(words) - 1)]
        if gaps and min(gaps) < 1.0:
            cuts.add(int(np.argmin(gaps)) + 1)
    groups: list[list[Word]] = [[]]
    for i, w in enumerate(words):
        current = groups[-1]
        too_long = current and w.end - current[0].start > _MAX_SEGMENT_SECONDS
        after_sentence = current and current[-1].word.strip()[-1:] in _SENTENCE_END
        if current and (i in cuts or (too_long and after_sentence)):
            groups.append([])
        groups[-1].append(w)
    return groups


__all__ = ["SUPPORTED_LANGUAGES", "TranscribeOptions", "decode_options_for", "transcribe", "window_segments"]
