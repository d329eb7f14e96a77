"""Hotwords: names and terms a caller expects, favoured at three points of recognition.

1. Decoding: they are given to Whisper as previous-text context, which biases spelling towards them.
2. Hypothesis choice: among the beam's n-best texts, one that contains more hotwords wins when its score is close.
3. Mandarin post-correction: a same-sounding, low-confidence span is replaced by the hotword (see
   ``shenggu.nlp.homophones``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from shenggu.nlp.chinese import to_simplified

# Per-token log-probability a hypothesis may lose for each extra hotword it contains.
HOTWORD_BONUS = 0.05


def _normalized(text: str) -> str:
    return to_simplified(text).lower().replace(" ", "")


def prefer_hotwords(hotwords: Sequence[str]) -> Callable[[str, list[tuple[str, float]]], int]:
    """A rescorer that picks the hypothesis maximizing Whisper's score plus a bonus per hotword present."""
    keys = [_normalized(h) for h in hotwords if h.strip()]

    def rescore(language: str, hypotheses: list[tuple[str, float]]) -> int:
        def combined(i: int) -> float:
            text, score = hypotheses[i]
            norm = _normalized(text)
            return score + HOTWORD_BONUS * sum(norm.count(k) for k in keys)

        return max(range(len(hypotheses)), key=combined)

    return rescore
