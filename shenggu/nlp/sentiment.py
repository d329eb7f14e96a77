"""Sentiment of Mandarin text: two engines, SnowNLP's naive Bayes (``snownlp``, the default) and shenggu's
logistic regression on sentence embeddings and a lexicon (``lexicon-embedding``, :mod:`shenggu.nlp.sentiment_model`:
negation, degree words and contrast, trained on reviews outside the evaluation domain). ``shenggu bench qa``
compares them on the same rows; the rest of this doc is about the baseline.

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

import threading
from dataclasses import dataclass

from shenggu.errors import InvalidOptionError
from shenggu.lazy import once
from shenggu.nlp import sentiment_model
from shenggu.text.script import has_han

POSITIVE_AT = 0.6  # score ≥ this: "positive"
NEGATIVE_AT = 0.4  # score ≤ this: "negative"; between the two: "neutral"
MODEL = "snownlp-0.12.3 naive Bayes (shopping reviews); weak baseline"
ENGINES = ("snownlp", "lexicon-embedding")
DEFAULT_ENGINE = "snownlp"
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
    model: str = MODEL

    def to_dict(self) -> dict:
        """JSON form for the API and ``--format json``."""
        return {
            "score": round(self.score, 4),
            "label": self.label,
            "model": self.model,
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


def sentiment(text: str, engine: str = DEFAULT_ENGINE) -> Sentiment:
    """Score ``text`` and each of its sentences, P(positive), with ``engine`` (see :data:`ENGINES`).

    ``snownlp`` (a weak baseline, see the module doc): the text's score is the mean of its sentences' scores
    weighted by their length, because naive Bayes over a whole long text multiplies the evidence of every sentence
    and saturates at 0 or 1. ``lexicon-embedding``: the model scores the whole text (as it was trained) and each
    sentence. Raises :class:`~shenggu.errors.InvalidOptionError` for an unknown engine or when the text has no
    Chinese character (English is not supported).
    """
    if engine not in ENGINES:
        raise InvalidOptionError(f"sentiment engine must be one of {', '.join(ENGINES)}, not '{engine[:40]}'")
    if not has_han(text):
        raise InvalidOptionError("sentiment analysis supports Chinese text only; this text has no Chinese characters")
    pieces = [piece for m in sentiment_model.SENTENCE.finditer(text) if has_han(piece := m.group(0).strip())]
    if engine == "snownlp":
        scores = [_score(piece) for piece in pieces]
        score = sum(len(p) * s for p, s in zip(pieces, scores, strict=True)) / sum(len(p) for p in pieces)
        model = MODEL
    else:
        both = sentiment_model.probabilities([text.strip(), *pieces])
        score, scores = float(both[0]), [float(s) for s in both[1:]]
        model = sentiment_model.MODEL
    sentences = [SentenceSentiment(p, s, label_of(s)) for p, s in zip(pieces, scores, strict=True)]
    return Sentiment(score, label_of(score), sentences, model)


__all__ = [
    "DEFAULT_ENGINE",
    "ENGINES",
    "MODEL",
    "NEGATIVE_AT",
    "POSITIVE_AT",
    "SentenceSentiment",
    "Sentiment",
    "label_of",
    "sentiment",
]
