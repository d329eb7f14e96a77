"""Hotwords: names and terms a caller expects, favoured at two points of recognition.

1. Decoding: a second beam search runs with the hotwords as Whisper's previous-text context, which biases
   spelling towards them. Its text replaces the plain decoding only where it contains more hotwords, so speech
   that has none of them is decoded exactly as without hotwords (a prompt alone changed unrelated words).
2. Mandarin post-correction: a same-sounding, low-confidence span is replaced by the hotword (see
   ``shenggu.asr.homophones``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from shenggu.text.chinese import to_simplified

Hypothesis = tuple[list[int], float]  # token ids and score


def _normalized(text: str) -> str:
    return to_simplified(text).lower().replace(" ", "")


def count_hotwords(text: str, hotwords: Sequence[str]) -> int:
    """How many hotword occurrences ``text`` holds (case, spaces and script ignored)."""
    norm = _normalized(text)
    return sum(norm.count(key) for h in hotwords if (key := _normalized(h)))


def choose_hypothesis(
    plain: Sequence[Hypothesis],
    prompted: Sequence[Hypothesis],
    hotwords: Sequence[str],
    decode: Callable[[list[int]], str],
) -> Hypothesis:
    """The plain decoding's best, unless some hypothesis (of either beam) holds more hotwords: then the
    best-scored among those with the most hotwords, plain hypotheses first."""
    counted = [(count_hotwords(decode(h[0]), hotwords), rank, h) for rank, h in enumerate([*plain, *prompted])]
    most = max(c for c, _, _ in counted)
    if most <= counted[0][0]:
        return plain[0]
    return min((rank, h) for c, rank, h in counted if c == most)[1]
