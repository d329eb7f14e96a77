"""Text clean-up of recognized windows: Whisper's failure modes, Chinese script, punctuation, ITN.

Order matters: hallucinations and loops are removed first, then characters are normalized (traditional →
simplified) and corrected, then punctuation is added from pauses, and inverse text normalization runs last on
the finished sentence text (word entries keep the spoken form, so their timings stay one-to-one).
"""

from __future__ import annotations

from dataclasses import dataclass

from shenggu.asr.types import Segment, Word
from shenggu.nlp.itn import inverse_normalize
from shenggu.nlp.punctuation import punctuate_words
from shenggu.text.chinese import to_simplified
from shenggu.text.script import is_punctuation

# Phrases Whisper emits on silence, music or noise (subtitle credits from its training data).
_HALLUCINATIONS = (
    "字幕由amara.org社区提供",
    "字幕由amara.org社群提供",
    "请不吝点赞订阅转发打赏支持明镜与点点栏目",
    "谢谢观看",
    "感谢观看",
    "谢谢大家观看",
    "优优独播剧场",
    "thanks for watching",
    "thank you for watching",
    "subtitles by the amara.org community",
    "please subscribe",
)
_MAX_REPEATS = 5  # more consecutive repeats of the same word sequence than this is a decoding loop


@dataclass
class PostprocessOptions:
    """Which clean-up steps to run."""

    punctuate: bool = True
    itn: bool = True
    simplified: bool = True


def _letters(text: str) -> str:
    """Lower-case text without spaces or punctuation, to compare phrases loosely."""
    return "".join(ch for ch in text.lower() if not is_punctuation(ch) and not ch.isspace())


_HALLUCINATION_KEYS = frozenset(_letters(h) for h in _HALLUCINATIONS)


def is_hallucination(segment: Segment) -> bool:
    """Whether a decoded window is almost surely not speech: Whisper's no-speech rule or a known credit line."""
    if segment.no_speech_prob > 0.6 and segment.avg_logprob < -1.0:
        return True
    return _letters(to_simplified(segment.text)) in _HALLUCINATION_KEYS


def collapse_loops(words: list[Word]) -> list[Word]:
    """Cut a run of more than ``_MAX_REPEATS`` repeats of one word sequence (1–8 words) down to one copy."""
    keys = [w.word.strip().lower() for w in words]
    for size in range(1, 9):
        i = 0
        while i + size * (_MAX_REPEATS + 1) <= len(keys):
            unit = keys[i : i + size]
            repeats = 1
            while keys[i + repeats * size : i + (repeats + 1) * size] == unit:
                repeats += 1
            if repeats > _MAX_REPEATS:
                del words[i + size : i + repeats * size]
                del keys[i + size : i + repeats * size]
            i += 1
    return words


def simplify_words(words: list[Word]) -> None:
    """Traditional → simplified, word by word (character counts stay, so timings stay aligned)."""
    for w in words:
        w.word = to_simplified(w.word)


def join_words(words: list[Word], language: str) -> str:
    """The text of a list of words: Whisper's English words carry their leading spaces, Mandarin words none."""
    text = "".join(w.word for w in words)
    return text.strip() if language != "zh" else text.replace(" ", "")


def finish_segment(
    words: list[Word], language: str, options: PostprocessOptions, ends_sentence: bool = True
) -> Segment | None:
    """Build the output segment of a run of words: punctuation and ITN for Mandarin (``ends_sentence``: whether
    the segment's last word ends a sentence, or the speaker only paused and goes on)."""
    if not words:
        return None
    if language == "zh" and options.punctuate:
        marked = punctuate_words([(w.word.strip(), w.start, w.end) for w in words], ends_sentence=ends_sentence)
        for w, text in zip(words, marked, strict=True):
            w.word = text
    text = words_text(words, language, options.itn)
    if not text.strip():
        return None
    return Segment(start=words[0].start, end=words[-1].end, text=text, words=words)


def words_text(words: list[Word], language: str, itn: bool = True) -> str:
    """The display text of finished (punctuated) words: joined, and inverse-normalized for Mandarin."""
    text = join_words(words, language)
    if language == "zh" and itn:
        text = inverse_normalize(text, "zh")
    return text
