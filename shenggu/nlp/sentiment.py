"""Sentiment of Mandarin text with SnowNLP: a weak baseline, not a calibrated model.

    sentiment("质量太差了，用了两天就坏了，非常失望。").score → 0.00 (negative)
    sentiment("菜非常好吃，服务也很热情，下次还会再来！").score   → 0.68 (positive)

What it is: SnowNLP 0.12.3's naive Bayes classifier, trained on a few thousand Chinese online-shopping reviews.
Its score is P(positive) in [0, 1]. Known weaknesses, so treat it as a baseline only:

* Domain: product and service reviews. News, dialogue, court or medical text are far from its training data.
* Neutral text is biased: plain statements with no opinion ("今天是星期三。", "我们明天开会。") score about
  0.2-0.3, so they come out "negative"; there is no neutral class in its training data, and the label
  "neutral" here only means a score between the two thresholds.
* Bag of words: negation, sarcasm and contrast ("不是不好", "好是好，就是贵") are not understood.
* Chinese only: English (text without Chinese characters) is refused, not guessed.

The classifier loads once per process (~2 s), on first use; calls are serialized with a lock, because SnowNLP
keeps module-level state.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

from shenggu.errors import InvalidOptionError
from shenggu.lazy import once
from shenggu.text.script import has_han

POSITIVE_AT = 0.6  # score ≥ this: "positive"
NEGATIVE_AT = 0.4  # score ≤ this: "negative"; between the two: "neutral"
MODEL = "snownlp-0.12.3 naive Bayes (shopping reviews); weak baseline"
_SENTENCE = re.compile(r"[^。！？!?；;\n]+[。！？!?；;]*")
_lock = threading.Lock()


@dataclass(frozen=True)
class SentenceSentiment:
    """One sentence's score (P(positive)) and label."""

    text: str
    score: float
    label: str

    def to_dict(self) -> dict:
        """JSON form, the score rounded to 4 decimals."""
        return {"text": self.text, "score": round(self.score, 4), "label": self.label}


@dataclass(frozen=True)
class Sentiment:
    """The whole text's score and label, and each sentence's."""

    score: float
    label: str
    sentences: list[SentenceSentiment]

    def to_dict(self) -> dict:
        """JSON form for the API and ``--format json``."""
        return {
            "score": round(self.score, 4),
            "label": self.label,
            "model": MODEL,
            "sentences": [s.to_dict() for s in self.sentences],
        }


def label_of(score: float) -> str:
    """The label of a score: positive, negative, or neutral between :data:`NEGATIVE_AT` and :data:`POSITIVE_AT`."""
    return "positive" if score >= POSITIVE_AT else "negative" if score <= NEGATIVE_AT else "neutral"


@once
def _classifier():
    """SnowNLP's sentiment module, its model loaded (~2 s, once)."""
    from snownlp import sentiment as snow_sentiment

    return snow_sentiment


def _score(text: str) -> float:
    classifier = _classifier()
    with _lock:
        return float(classifier.classify(text))


def sentiment(text: str) -> Sentiment:
    """Score ``text`` sentence by sentence, P(positive) from a weak baseline (see the module doc).

    The text's score is the mean of its sentences' scores weighted by their length: naive Bayes over a whole
    long text multiplies the evidence of every sentence and saturates at 0 or 1. Raises
    :class:`~shenggu.errors.InvalidOptionError` when the text has no Chinese character (English is not
    supported).
    """
    if not has_han(text):
        raise InvalidOptionError("sentiment analysis supports Chinese text only; this text has no Chinese characters")
    pieces = [piece for m in _SENTENCE.finditer(text) if has_han(piece := m.group(0).strip())]
    scores = [_score(piece) for piece in pieces]
    sentences = [SentenceSentiment(p, s, label_of(s)) for p, s in zip(pieces, scores, strict=True)]
    score = sum(len(p) * s for p, s in zip(pieces, scores, strict=True)) / sum(len(p) for p in pieces)
    return Sentiment(score, label_of(score), sentences)


__all__ = ["MODEL", "NEGATIVE_AT", "POSITIVE_AT", "SentenceSentiment", "Sentiment", "label_of", "sentiment"]
