"""English pronunciation assessment: goodness of pronunciation (GOP) from PocketSphinx, calibrated on expert scores.

Measurement (:mod:`shenggu.assess.gop`): the reference words are force-aligned to the audio and every phone gets a
GOP, its log-likelihood ratio per frame against a free phone loop (0 best, about −1…−5 nats for phones read right,
−5…−15 for wrong ones). Words the dictionary lacks are read by :mod:`shenggu.assess.lts`.

Scores: raw features are mapped onto the speechocean762 expert scales by ``calibration_en.json``
(:mod:`shenggu.assess.calibration`, fitted by ``scripts/fit_assess_calibration.py``); ``CALIBRATED_TARGETS``
names the features of each level:

* **phone** accuracy: the phone's GOP and its word's mean GOP (experts judge a phone partly by its word);
* **word** accuracy: the mean GOP of its phones. A word is an *omission* when it is essentially not there: its
  phones squeezed to near the model's 3-frame minimum with a very bad GOP (accuracy 0); a *mispronunciation* when
  its accuracy is under 40 (on the expert scale, under 4 of 10: most of the word wrong);
* utterance **accuracy**: the mean GOP of all phones;
* **fluency**: the mean GOP, the pause ratio (share of the time from the first to the last word spent in silent or
  filled pauses: an "uh" the phone loop hears as non-speech) and the speech rate (phones per second of speech);
* **prosodic** (a proxy: rhythm as pausing and pace): the same three features, fitted to the prosody ratings;
* **completeness**: the share of words not omitted (a rule, not fitted);
* **total**: the mean GOP and the pause ratio.

Reference text: numbers are spelled out ("3" → three, "21st" → twenty first), case and punctuation dropped except
apostrophes and inner hyphens.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shenggu.assess.calibration import Calibration, load_calibration
from shenggu.assess.gop import AlignedWord, Alignment, PhoneGop, PocketSphinxGop
from shenggu.assess.lts import pronounce
from shenggu.assess.types import Assessment, PhoneScore, WordScore
from shenggu.audio.decode import SAMPLE_RATE
from shenggu.audio.errors import AudioTooLongError, SilentAudioError
from shenggu.audio.level import normalize_level
from shenggu.audio.vad import detect_speech
from shenggu.errors import InvalidOptionError
from shenggu.lazy import once
from shenggu.text.numbers_en import en_cardinal, en_decimal, en_ordinal

CALIBRATION_PATH = Path(__file__).with_name("calibration_en.json")
# Ten minutes (the service's limit for assessment jobs): long readings are aligned in pieces, so memory stays near
# 0.5 MB per second of audio, and time near 0.15 s per second, during which the shared decoder is busy.
MAX_SECONDS = 600.0
# Calibrated targets: the features each reads and the top of its expert scale (speechocean762: phones 0–2, the rest
# 0–10). Completeness is a rule, not calibrated.
CALIBRATED_TARGETS: dict[str, tuple[tuple[str, ...], float]] = {
    "phone": (("phone_gop", "word_gop"), 2.0),
    "word": (("word_gop",), 10.0),
    "accuracy": (("gop_mean",), 10.0),
    "fluency": (("gop_mean", "pause_ratio", "speech_rate"), 10.0),
    "prosodic": (("gop_mean", "pause_ratio", "speech_rate"), 10.0),
    "total": (("gop_mean", "pause_ratio"), 10.0),
}
_OMISSION_FRAMES_PER_PHONE = 4.0  # the model's phones last at least 3 frames: a word read this fast is squeezed in
_OMISSION_GOP = -5.5  # ... and fits this badly: it was not said
_MISPRONOUNCED = 40.0
_NUMBER = re.compile(r"(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?(st|nd|rd|th)?")


@dataclass(frozen=True)
class ReferenceWord:
    """One word to read: as shown (``text``) and as looked up in the dictionary (``key``, lower case)."""

    text: str
    key: str


@dataclass(frozen=True)
class Analysis:
    """One reading measured, before calibration. ``alignment`` is ``None`` when the text could not be aligned to
    the audio at all (nothing like it was said)."""

    reference: str  # as given
    words: tuple[ReferenceWord, ...]
    alignment: Alignment | None
    duration: float


def normalize_reference(reference: str) -> list[ReferenceWord]:
    """The words of a reference text: numbers spelled out, punctuation dropped (apostrophes and inner hyphens
    kept); ``InvalidOptionError`` when no word is left."""
    words: list[ReferenceWord] = []
    for token in reference.replace("’", "'").split():
        pieces = _NUMBER.split(token)
        # split() alternates text and the number's groups: text, digits, fraction, ordinal suffix, text...
        for i in range(0, len(pieces), 4):
            words += _plain_words(pieces[i])
            if i + 1 < len(pieces):
                words += [ReferenceWord(w, w) for w in _spell_number(*pieces[i + 1 : i + 4]).split()]
    if not words:
        raise InvalidOptionError("the reference text has no English word to read")
    return words


def _plain_words(text: str) -> list[ReferenceWord]:
    words = []
    for part in re.findall(r"[A-Za-z][A-Za-z'\-]*", text):
        clean = re.sub(r"-{2,}", "-", part).strip("-'")
        words.append(ReferenceWord(clean, clean.lower()))
    return words


def _spell_number(digits: str, fraction: str | None, ordinal: str | None) -> str:
    integer = int(digits.replace(",", ""))
    if ordinal and not fraction:
        return en_ordinal(integer)
    return en_decimal(str(integer), fraction) if fraction else en_cardinal(integer)


def phone_features(word: AlignedWord, phone: PhoneGop) -> dict[str, float]:
    """The calibration features of one aligned phone."""
    return {"phone_gop": phone.gop, "word_gop": _word_gop(word)}


def word_features(word: AlignedWord) -> dict[str, float]:
    """The calibration features of one aligned word."""
    return {"word_gop": _word_gop(word)}


def utterance_features(alignment: Alignment) -> dict[str, float]:
    """The calibration features of one aligned reading (see the module docstring)."""
    phones = [p for w in alignment.words for p in w.phones]
    first, last = alignment.words[0], alignment.words[-1]
    span = last.start + last.frames - first.start
    paused = sum(frames for _, frames in alignment.pauses) + alignment.filled_pause_frames
    speaking_s = max(span - paused, 1) / alignment.frame_rate
    return {
        "gop_mean": float(np.mean([p.gop for p in phones])),
        "pause_ratio": paused / span,
        "speech_rate": len(phones) / speaking_s,
    }


def is_omitted(word: AlignedWord) -> bool:
    """Whether an aligned word was essentially not said (squeezed to near-minimum length and fitting very badly)."""
    return word.frames <= _OMISSION_FRAMES_PER_PHONE * len(word.phones) and _word_gop(word) < _OMISSION_GOP


def _word_gop(word: AlignedWord) -> float:
    return float(np.mean([p.gop for p in word.phones]))


class EnglishAssessor:
    """Scores readings of English text (see the module's description); thread-safe (decoders are pooled)."""

    language = "en"

    def __init__(self, gop: PocketSphinxGop, calibration: Calibration) -> None:
        self._gop = gop
        self._calibration = calibration

    def with_calibration(self, calibration: Calibration) -> EnglishAssessor:
        """An assessor on the same decoders with another calibration (one fitted without a speaker, to score them)."""
        return EnglishAssessor(self._gop, calibration)

    def assess(self, samples: np.ndarray, reference: str) -> Assessment:
        """Score one reading of ``reference`` (16 kHz mono float32 ``samples``, at most ``MAX_SECONDS``).

        Raises ``InvalidOptionError`` for a reference without words, ``SilentAudioError`` when the audio has no
        speech and ``AudioTooLongError`` past the limit."""
        return self.score(self.analyze(samples, reference))

    def analyze(self, samples: np.ndarray, reference: str) -> Analysis:
        """Align the reference to the reading and measure every phone (the raw features, before calibration)."""
        words = tuple(normalize_reference(reference))
        audio = np.asarray(samples, dtype=np.float32).reshape(-1)
        duration = len(audio) / SAMPLE_RATE
        if duration > MAX_SECONDS:
            raise AudioTooLongError(f"a reading to assess may last {MAX_SECONDS:.0f} s, not {duration:.1f} s")
        # The decoders hear a standard level: scores do not depend on how loud the reading was recorded, and only
        # a recording without any speech is refused (a quiet, hesitant or poor reading is scored, low).
        levelled = normalize_level(audio)
        if levelled is None or not detect_speech(levelled):
            raise SilentAudioError("the recording has no speech to assess", duration)
        pronunciations = {w.key: pronounce(w.key, self._gop.lookup) for w in words}
        alignment = self._gop.align(levelled, [w.key for w in words], pronunciations)
        return Analysis(reference.strip(), words, alignment, duration)

    def score(self, analysis: Analysis) -> Assessment:
        """Calibrated scores of an analysed reading."""
        alignment, reference = analysis.alignment, analysis.reference
        if alignment is None:
            unread = [WordScore(w.text, None, None, 0.0, "omission") for w in analysis.words]
            return Assessment("en", reference, 0.0, 0.0, 0.0, 0.0, 0.0, analysis.duration, unread)
        cal = self._calibration
        seconds = 1.0 / alignment.frame_rate
        words = []
        for ref, word in zip(analysis.words, alignment.words, strict=True):
            omitted = is_omitted(word)
            phones = [
                PhoneScore(
                    p.phone,
                    p.start * seconds,
                    (p.start + p.frames) * seconds,
                    0.0 if omitted else cal.score("phone", phone_features(word, p)),
                    p.gop,
                )
                for p in word.phones
            ]
            accuracy = 0.0 if omitted else cal.score("word", word_features(word))
            error = "omission" if omitted else "mispronunciation" if accuracy < _MISPRONOUNCED else "none"
            start = word.start * seconds
            words.append(WordScore(ref.text, start, start + word.frames * seconds, accuracy, error, phones))
        features = utterance_features(alignment)
        return Assessment(
            language="en",
            reference=reference,
            accuracy=cal.score("accuracy", features),
            fluency=cal.score("fluency", features),
            completeness=100.0 * sum(w.error != "omission" for w in words) / len(words),
            prosodic=cal.score("prosodic", features),
            total=cal.score("total", features),
            duration=analysis.duration,
            words=words,
        )


@once
def get_english_assessor() -> EnglishAssessor:
    """The process-wide English assessor (PocketSphinx decoder and shipped calibration, built on first use)."""
    return EnglishAssessor(PocketSphinxGop(), load_calibration(CALIBRATION_PATH))


__all__ = [
    "CALIBRATED_TARGETS",
    "MAX_SECONDS",
    "Analysis",
    "EnglishAssessor",
    "ReferenceWord",
    "get_english_assessor",
    "is_omitted",
    "normalize_reference",
    "phone_features",
    "utterance_features",
    "word_features",
]
