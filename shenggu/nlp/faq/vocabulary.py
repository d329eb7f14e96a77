"""A knowledge base's vocabulary: the Chinese words its questions are asked in, for recognition to restore.

A spoken question reaches retrieval through Whisper, whose errors on a service's own terms are same-sounding
words (微粒贷 → 威力代, 花呗 → 花被, 借呗 → 戒备, 逾期 → 于七): the words the base is about, and the words retrieval
needs. Homophone correction restores a same-sounding dictionary word or hotword where Whisper was unsure; given
the base's words too (``TranscribeOptions.vocabulary``), it can restore those.
"""

from __future__ import annotations

from collections import Counter

from shenggu.nlp.faq.lexical import han_runs, normalize
from shenggu.nlp.faq.types import KnowledgeBase
from shenggu.text.chinese import load_jieba

MAX_TERMS = 2000  # most frequent first
MIN_QUESTIONS = 2  # a term recurs: a string in one question only is a phrase of it, not the base's vocabulary
_TERM_CHARS = (2, 4)  # single characters are too ambiguous to correct towards; longer strings are phrases


def kb_vocabulary(kb: KnowledgeBase) -> list[str]:
    """The base's terms: strings of 2-4 Chinese characters (inside its questions' and alternatives' runs between
    stopwords) that recur in at least ``MIN_QUESTIONS`` of them, most frequent first. Of a term that occurs only
    inside a longer one only the longer is kept (微粒贷, not also 粒贷), unless it is a dictionary word.
    Substrings, not a word cutter's words: the terms a service coins (花呗, 微粒贷) are what a dictionary does not
    know. Answers are left out: they are long, and not how people ask."""
    counts: Counter[str] = Counter()
    for entry in kb.entries:
        text = entry.texts.get("zh")
        if text is None:
            continue
        for question in (text.question, *text.alternatives):
            counts.update({term for run in han_runs(normalize(question)) for term in _substrings(run)})
    recurring = {term: n for term, n in counts.items() if n >= MIN_QUESTIONS}
    # A term is left out when a term one character longer recurs as often (every one of its occurrences is inside
    # that one: 微粒贷's 粒贷), unless it is a dictionary word (逾期 stays when the base only ever says 花呗逾期).
    # A string's one-longer superstrings have it as their prefix or their suffix.
    words = load_jieba().dt.FREQ
    covered = {part for term, n in recurring.items() for part in (term[1:], term[:-1]) if recurring.get(part) == n}
    kept = [term for term in recurring if term not in covered or words.get(term)]
    return sorted(kept, key=lambda term: (-recurring[term], term))[:MAX_TERMS]


def _substrings(run: str) -> set[str]:
    low, high = _TERM_CHARS
    return {run[i : i + n] for n in range(low, high + 1) for i in range(len(run) - n + 1)}
