"""Mandarin pronunciation assessment: character scores from Whisper forced onto the reference, tones from pitch.

No phone-level Mandarin model ships in any installable package (see ../shared/MODELS.md), so the unit is the
character (syllable):

* **Accuracy** of a character: Whisper-base is made to read the reference (``WhisperRecognizer.align_texts``),
  which gives each character a time span and the probability Whisper gives it there (read right: mostly 0.6–1.0;
  another syllable: 0.0–0.3); a probability of 0.5 or more is full marks. A free recognition of the same audio
  backs it up: a character Whisper also hears unprompted (same syllable, tone aside: homophones count) scores at
  least 90. A character that free recognition skipped and that forced alignment finds unlikely (< 0.2) was left
  out (omission); characters heard that the reference lacks are reported as inserted words.
* **Tone**: a YIN pitch track (:mod:`shenggu.assess.pitch`) over the character's span, on the speaker's own range,
  against the tone it should be said in (:mod:`shenggu.assess.tones`); a wrong tone costs a third of the
  character's score. Neutral tones are not scored. The flags are conservative and coarse: on the evaluation
  clips 13 % of correctly read syllables were flagged, and about 30 % of deliberately wrong tones (synthesized)
  were caught.
* **Fluency**: speech rate (characters per second of speech; 3 or more is full marks) and the time lost in
  hesitations (pauses that are not at a clause mark).
* **Completeness**: the share of characters read.
* **Prosodic** (a proxy: placement of breaks): every pause inside a word costs 25, between words without a clause
  mark 10.
* **Total**: 0.4 accuracy + 0.2 fluency + 0.25 completeness + 0.15 prosodic.

Accuracy is the mean over the characters read (omissions count in completeness only). Recordings are up to 30 s
(one Whisper window): one sentence or a short paragraph, as in reading exercises.
"""

from __future__ import annotations

import difflib
import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from shenggu.asr.types import DecodeOptions, Word
from shenggu.assess.pitch import PitchTrack, track_pitch
from shenggu.assess.tones import NEUTRAL, read_tone
from shenggu.assess.types import Assessment, SyllableScore, WordScore
from shenggu.assess.zh_reference import Reference, ReferenceChar, prepare_reference
from shenggu.audio.decode import SAMPLE_RATE
from shenggu.audio.errors import AudioTooLongError, SilentAudioError
from shenggu.audio.level import normalize_level
from shenggu.audio.vad import SpeechSegment, VadOptions, detect_speech
from shenggu.config import Settings
from shenggu.text.chinese import to_simplified
from shenggu.text.pinyin import pinyin
from shenggu.text.script import is_han

if TYPE_CHECKING:
    from shenggu.asr.whisper import WhisperRecognizer

MAX_SECONDS = 30.0
_CONTEXT_S = 15.0  # Whisper encoder context: 3x cheaper than the full 30 s window at the same accuracy
# Fine-grained speech segments: gaps of 0.2 s or more are pauses.
_VAD = VadOptions(min_silence_ms=200, speech_pad_ms=30, min_speech_ms=60)
_TRIM_PAD_S = 0.1  # audio kept around the speech for alignment: leading silence would pull the first span into it
# Whisper's cross-attention boundaries come early: on synthetic speech (where voicing onsets show where each
# syllable starts) and on the evaluation clips, spans moved 0.1 s later match the syllables' pitch best.
_LAG_S = 0.1
_P_GOOD = 0.5  # a forced probability this high or higher is full marks
_P_OMITTED = 0.2  # below this, a character that free recognition also skipped was not read
_HEARD_FLOOR = 0.9  # least score of a character that free recognition heard too
_TONE_PENALTY = 1 / 3
_MISPRONOUNCED = 60.0  # a word with a syllable below this (or a wrong tone) is marked as mispronounced
_FULL_RATE = 3.0  # characters per second of speech for full fluency marks (fluent reading: 4–5.5)
_SLOW_RATE = 1.0  # characters per second for none
_INSIDE_WORD_COST = 25.0
_BETWEEN_WORDS_COST = 10.0
_WEIGHTS = {"accuracy": 0.4, "fluency": 0.2, "completeness": 0.25, "prosodic": 0.15}


class _Span(NamedTuple):
    """Where a reference character was read (seconds in the recording) and the forced probability of it."""

    start: float
    end: float
    probability: float


@dataclass
class _Heard:
    """What free recognition says about the reference: per character, whether it was heard (same syllable) or
    skipped; and the characters it heard that the reference does not have, by the word they follow (-1: first)."""

    heard: list[bool]
    skipped: list[bool]
    inserted: dict[int, list[Word]]


class MandarinAssessor:
    """Scores readings of Mandarin text (see the module's description); thread-safe, shares the Whisper engine."""

    language = "zh"

    def __init__(self, recognizer: WhisperRecognizer) -> None:
        self._recognizer = recognizer

    def assess(self, samples: np.ndarray, reference: str) -> Assessment:
        """Score one reading of ``reference`` (16 kHz mono float32 ``samples``, at most 30 s).

        Raises ``InvalidOptionError`` when the reference has no Chinese character, ``SilentAudioError`` when the
        audio has no speech and ``AudioTooLongError`` past 30 s."""
        ref = prepare_reference(reference)
        audio = np.asarray(samples, dtype=np.float32).reshape(-1)
        duration = len(audio) / SAMPLE_RATE
        if duration > MAX_SECONDS:
            raise AudioTooLongError(f"a reading to assess may last {MAX_SECONDS:.0f} s, not {duration:.1f} s")
        # Heard at a standard level: a quiet or hesitant reading is scored (low where it is poor), not refused as
        # silent, and its scores do not depend on how loud it was recorded. Only a recording without speech is.
        levelled = normalize_level(audio)
        speech = [] if levelled is None else detect_speech(levelled, _VAD)
        if levelled is None or not speech:
            raise SilentAudioError("the recording has no speech to assess", duration)
        audio = levelled
        offset = max(0.0, speech[0].start - _TRIM_PAD_S)
        clip = audio[int(offset * SAMPLE_RATE) : int(min(duration, speech[-1].end + _TRIM_PAD_S) * SAMPLE_RATE)]
        spans = self._align(clip, ref, offset, duration)
        heard = self._listen(clip, ref, offset)
        syllables, omitted = _syllables(ref, spans, heard, track_pitch(audio), speech)
        return _assessment(ref, syllables, omitted, heard.inserted, speech, duration)

    def _align(self, clip: np.ndarray, ref: Reference, offset: float, duration: float) -> list[_Span]:
        """Per character: its span (of the first forced text, moved by Whisper's lag) and the probability that the
        best of the forced texts gives it."""
        variants = self._recognizer.align_texts(clip, ref.forced_texts, "zh", _CONTEXT_S)
        per_variant = [_per_character(pieces) for pieces in variants]
        shift = offset + _LAG_S
        return [
            _Span(min(span.start + shift, duration), min(span.end + shift, duration), max(p.probability for p in ps))
            for span, *ps in zip(per_variant[0], *per_variant, strict=True)
        ]

    def _listen(self, clip: np.ndarray, ref: Reference, offset: float) -> _Heard:
        """Recognize the clip freely and match its characters to the reference by syllable (tones aside)."""
        options = DecodeOptions(language="zh", word_timestamps=True, context_s=_CONTEXT_S)
        words = self._recognizer.decode_chunks([clip], options)[0].segments[0].words
        hypothesis = [
            Word(offset + start, offset + end, char, 0.0)
            for word in words
            for char, start, end in _split_characters(to_simplified(word.word), word.start, word.end)
        ]
        said = [_toneless(p) for p in pinyin("".join(w.word for w in hypothesis))]
        expected = [_toneless(c.pinyin) for c in ref.chars]
        result = _Heard([False] * len(expected), [False] * len(expected), {})
        matcher = difflib.SequenceMatcher(a=expected, b=said, autojunk=False)
        for op, a0, a1, b0, b1 in matcher.get_opcodes():
            if op == "equal":
                result.heard[a0:a1] = [True] * (a1 - a0)
            elif op == "delete":
                result.skipped[a0:a1] = [True] * (a1 - a0)
            elif op == "insert":
                result.inserted.setdefault(ref.chars[a0 - 1].word if a0 else -1, []).extend(hypothesis[b0:b1])
        return result


def _per_character(pieces: list[Word]) -> list[_Span]:
    """Each Chinese character of Whisper's aligned pieces (a piece of several characters is split evenly in time
    and gives each its probability)."""
    return [
        _Span(start, end, piece.probability)
        for piece in pieces
        for _, start, end in _split_characters(piece.word, piece.start, piece.end)
    ]


def _split_characters(text: str, start: float, end: float) -> list[tuple[str, float, float]]:
    """The Chinese characters of ``text`` with the span ``start``–``end`` shared evenly between them."""
    chars = [c for c in text if is_han(c)]
    step = (end - start) / max(len(chars), 1)
    return [(c, start + i * step, start + (i + 1) * step) for i, c in enumerate(chars)]


def _toneless(syllable: str) -> str:
    return syllable.rstrip("012345")


def _syllables(
    ref: Reference,
    spans: list[_Span],
    heard: _Heard,
    pitch: PitchTrack,
    speech: list[SpeechSegment],
) -> tuple[list[SyllableScore], list[bool]]:
    """Score each character of the reference; also say which were left out."""
    voiced = np.concatenate([12 * np.log2(pitch.between(s.start, s.end)) for s in speech])
    # The speaker's range over the utterance; tones are judged relative to it.
    bottom, top = np.percentile(voiced, [5, 95]) if len(voiced) else (0.0, 0.0)
    out = []
    omitted = [skipped and span.probability < _P_OMITTED for skipped, span in zip(heard.skipped, spans, strict=True)]
    for char, (start, end, probability), left_out, was_heard in zip(
        ref.chars, spans, omitted, heard.heard, strict=True
    ):
        if left_out:
            out.append(SyllableScore(char.char, char.pinyin, char.tone, None, start, end, 0.0, None))
            continue
        score = min(1.0, probability / _P_GOOD)
        if was_heard:
            score = _HEARD_FLOOR + (1 - _HEARD_FLOOR) * score
        f0 = pitch.between(start, end)
        reading = read_tone(12 * np.log2(f0), bottom, top) if len(f0) else None
        tone_correct = None if reading is None or char.tone == NEUTRAL else reading.matches(char.accepted)
        if tone_correct is False:
            score *= 1 - _TONE_PENALTY
        detected = reading.tone if reading else None
        out.append(SyllableScore(char.char, char.pinyin, char.tone, detected, start, end, 100 * score, tone_correct))
    return out, omitted


def _assessment(
    ref: Reference,
    syllables: list[SyllableScore],
    omitted: list[bool],
    inserted: dict[int, list[Word]],
    speech: list[SpeechSegment],
    duration: float,
) -> Assessment:
    read = [s for s, left_out in zip(syllables, omitted, strict=True) if not left_out]
    accuracy = float(np.mean([s.accuracy for s in read])) if read else 0.0
    completeness = 100.0 * len(read) / len(syllables)
    inside, between, hesitation = _pauses(ref.chars, syllables, speech)
    speech_time = sum(s.duration for s in speech)
    rate = len(read) / max(speech_time, 1e-3)
    rate_score = float(np.clip((rate - _SLOW_RATE) / (_FULL_RATE - _SLOW_RATE), 0.0, 1.0))
    span = speech[-1].end - speech[0].start
    fluency = 100 * (0.6 * rate_score + 0.4 * max(0.0, 1 - 2 * hesitation / max(span, 1e-3)))
    prosodic = max(0.0, 100 - _INSIDE_WORD_COST * inside - _BETWEEN_WORDS_COST * between)
    scores = {"accuracy": accuracy, "fluency": fluency, "completeness": completeness, "prosodic": prosodic}
    total = sum(_WEIGHTS[k] * v for k, v in scores.items())
    words = _words(ref, syllables, omitted, inserted)
    return Assessment("zh", ref.text, accuracy, fluency, completeness, prosodic, total, duration, words)


def _pauses(
    chars: list[ReferenceChar], syllables: list[SyllableScore], speech: list[SpeechSegment]
) -> tuple[int, int, float]:
    """Pauses between speech segments, placed at the nearest character boundary: how many fall inside a word, how
    many between words without a clause mark, and the seconds of those two kinds (hesitation)."""
    inside = between = 0
    hesitation = 0.0
    starts = np.array([s.start for s in syllables[1:]])
    for before, after in itertools.pairwise(speech):
        middle = (before.end + after.start) / 2
        if not len(starts) or not syllables[0].start < middle < syllables[-1].end:
            continue
        k = int(np.argmin(np.abs(starts - middle))) + 1  # the pause comes before character k
        if chars[k - 1].clause_end:
            continue
        if chars[k - 1].word == chars[k].word:
            inside += 1
        else:
            between += 1
        hesitation += after.start - before.end
    return inside, between, hesitation


def _words(
    ref: Reference, syllables: list[SyllableScore], omitted: list[bool], inserted: dict[int, list[Word]]
) -> list[WordScore]:
    """Reference words with their syllables, and the inserted words where free recognition heard them."""
    words = [_inserted(inserted[-1])] if -1 in inserted else []
    for index, text in enumerate(ref.words):
        members = [i for i, c in enumerate(ref.chars) if c.word == index]
        words.append(_word_score(text, [syllables[i] for i in members], [omitted[i] for i in members]))
        if index in inserted:
            words.append(_inserted(inserted[index]))
    return words


def _word_score(text: str, parts: list[SyllableScore], omitted: list[bool]) -> WordScore:
    accuracy = float(np.mean([p.accuracy for p in parts]))
    if all(omitted):
        error = "omission"
    elif any(omitted) or any(p.accuracy < _MISPRONOUNCED or p.tone_correct is False for p in parts):
        error = "mispronunciation"
    else:
        error = "none"
    return WordScore(text, parts[0].start, parts[-1].end, accuracy, error, syllables=parts)


def _inserted(heard: list[Word]) -> WordScore:
    """Characters heard that the reference does not have, as one inserted word."""
    return WordScore("".join(w.word for w in heard), heard[0].start, heard[-1].end, 0.0, "insertion")


def get_mandarin_assessor(settings: Settings) -> MandarinAssessor:
    """The Mandarin assessor on the shared Whisper-base engine (built on first use with the settings' threads)."""
    from shenggu.asr.registry import get_recognizer

    return MandarinAssessor(get_recognizer("whisper-base", settings=settings))  # type: ignore[arg-type]


__all__ = ["MAX_SECONDS", "MandarinAssessor", "get_mandarin_assessor"]
