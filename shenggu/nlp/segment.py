"""Word segmentation and keyword extraction: jieba for Mandarin, a plain word tokenizer for English.

    segment("我在中国银行工作") → 我 / 在 / 中国银行 / 工作      (pos=True: r / p / nt / vn)
    keywords(text, method="tfidf") → [Keyword("自然语言", 1.74), ...]   (or method="textrank")

Text with any Chinese character is cut by jieba (the same dictionary ASR and TTS use, loaded once by
:func:`shenggu.text.chinese.load_jieba`); Latin words inside it stay whole. Text without Chinese is cut into words,
numbers and punctuation by a regular expression. Part-of-speech tags are jieba's (ICTCLAS-style: n noun, v verb,
nr person, ns place, nt organization, m numeral, eng Latin word, x punctuation...); English words get ``eng``,
numbers ``m`` and punctuation ``x`` so the tag set is the same for both languages. Whitespace is not a word.
"""

from __future__ import annotations

import re
import threading
from dataclasses import asdict, dataclass

from shenggu.errors import InvalidOptionError
from shenggu.lazy import once
from shenggu.text.chinese import load_jieba
from shenggu.text.script import HAN_RUN, text_language

SEGMENT_MODES = ("accurate", "search", "full")
KEYWORD_METHODS = ("tfidf", "textrank")
MAX_TOP_K = 100
# TextRank ranks only these parts of speech: nouns, place names, verbal nouns, verbs (jieba's default), and,
# unlike jieba's default, organization and person names and Latin words.
_TEXTRANK_POS_ZH = ("n", "ns", "nt", "nz", "nr", "vn", "v", "eng")
_TEXTRANK_POS_EN = ("eng",)

_EN_TOKEN = re.compile(r"[A-Za-z]+(?:['’][A-Za-z]+)*|\d+(?:[.,]\d+)*|[^\w\s]|_+|\w+", re.UNICODE)


@dataclass(frozen=True)
class Token:
    """One word of the text: its characters, where it is (``text[start:end]``) and, on request, its POS tag."""

    word: str
    start: int
    end: int
    pos: str | None = None

    def to_dict(self) -> dict:
        """JSON form (``pos`` only when tagged)."""
        data = asdict(self)
        if self.pos is None:
            del data["pos"]
        return data


@dataclass(frozen=True)
class Segmentation:
    """The words of a text and the language they were cut as ("zh": jieba, "en": word tokenizer)."""

    language: str
    tokens: list[Token]

    def to_dict(self) -> dict:
        """JSON form for the API and ``--format json``."""
        return {"language": self.language, "words": [t.to_dict() for t in self.tokens]}


@dataclass(frozen=True)
class Keyword:
    """A keyword and its weight (TF-IDF score, or TextRank score scaled so the best is 1.0)."""

    word: str
    weight: float

    def to_dict(self) -> dict:
        """JSON form, the weight rounded to 4 decimals."""
        return {"word": self.word, "weight": round(self.weight, 4)}


def _check_mode(mode: str) -> None:
    if mode not in SEGMENT_MODES:
        raise InvalidOptionError(f"unknown segmentation mode '{mode[:20]}' (choose {', '.join(SEGMENT_MODES)})")


def _english_tokens(text: str, pos: bool) -> list[Token]:
    tokens = []
    for match in _EN_TOKEN.finditer(text):
        word = match.group(0)
        tag = None
        if pos:
            tag = "m" if word[0].isdigit() else "eng" if word[0].isalpha() else "x"
        tokens.append(Token(word, match.start(), match.end(), tag))
    return tokens


def _located(text: str, words: list[tuple[str, str | None]]) -> list[Token]:
    """Attach offsets to words that cover ``text`` in order (jieba's accurate mode), dropping whitespace."""
    tokens, at = [], 0
    for word, tag in words:
        start = text.find(word, at)
        if start < 0:  # never expected; keep going rather than fail
            start = at
        at = start + len(word)
        if word.strip():
            tokens.append(Token(word, start, at, tag))
    return tokens


def segment(text: str, pos: bool = False, mode: str = "accurate") -> Segmentation:
    """Cut ``text`` into words.

    ``mode``: "accurate" (each character in exactly one word, the default), "search" (accurate words plus the
    shorter dictionary words inside long ones, for search indexes) or "full" (every dictionary word found,
    overlapping). ``pos=True`` tags each word with its part of speech (accurate mode only). Raises
    :class:`~shenggu.errors.InvalidOptionError` for an unknown mode or POS tagging outside accurate mode.
    """
    _check_mode(mode)
    if pos and mode != "accurate":
        raise InvalidOptionError("part-of-speech tags are only given in 'accurate' mode")
    if text_language(text) == "en":
        return Segmentation("en", _english_tokens(text, pos))
    jieba = load_jieba()
    if pos:
        return Segmentation("zh", _located(text, [(p.word, p.flag) for p in _posseg().cut(text)]))
    if mode == "accurate":
        return Segmentation("zh", _located(text, [(w, None) for w in jieba.lcut(text)]))
    if mode == "search":
        return Segmentation("zh", [Token(w, s, e) for w, s, e in jieba.tokenize(text, mode="search") if w.strip()])
    return Segmentation("zh", _full_tokens(text))


def _full_tokens(text: str) -> list[Token]:
    """jieba's full mode, with offsets: every dictionary word at every position of each Chinese run (a single
    character only where no longer word covers it); other runs are cut like English."""
    jieba = load_jieba()
    tokens: list[Token] = []
    at = 0
    for run in HAN_RUN.finditer(text):
        tokens.extend(Token(t.word, t.start + at, t.end + at) for t in _english_tokens(text[at : run.start()], False))
        base, covered = run.start(), -1
        dag = jieba.dt.get_DAG(run.group(0))
        for k in sorted(dag):
            ends = dag[k]
            if len(ends) == 1 and k > covered:
                tokens.append(Token(text[base + k], base + k, base + k + 1))
            for j in ends:
                if j > k:
                    tokens.append(Token(text[base + k : base + j + 1], base + k, base + j + 1))
                    covered = max(covered, j)
        at = run.end()
    tokens.extend(Token(t.word, t.start + at, t.end + at) for t in _english_tokens(text[at:], False))
    return tokens


@once
def _posseg():
    """jieba's POS tokenizer over the shared, initialized dictionary."""
    load_jieba()
    import jieba.posseg

    return jieba.posseg.dt


@once
def _analyse():
    """jieba.analyse with its IDF table loaded (~0.5 s, once)."""
    load_jieba()
    import jieba.analyse

    return jieba.analyse


_textrank_lock = threading.Lock()  # jieba's TextRank keeps its POS filter on the instance


@once
def _textrank():
    return _analyse().TextRank()


def keywords(text: str, top_k: int = 10, method: str = "tfidf") -> list[Keyword]:
    """The ``top_k`` most characteristic words of ``text``, best first, with weights.

    ``method="tfidf"``: term frequency in the text times jieba's inverse document frequency (weights are raw
    TF-IDF scores, comparable within one text). ``method="textrank"``: a word co-occurrence graph ranked like
    PageRank, nouns and verbs only (weights scaled so the best word is 1.0); it favours words linked to many
    others and needs a few sentences to be useful. Stop words and single characters are never keywords. English
    text is lower-cased first, so "Speech" and "speech" are one word. Raises
    :class:`~shenggu.errors.InvalidOptionError` for an unknown method or ``top_k`` outside 1-100.
    """
    if method not in KEYWORD_METHODS:
        raise InvalidOptionError(f"unknown keyword method '{method[:20]}' (choose {', '.join(KEYWORD_METHODS)})")
    if not 1 <= top_k <= MAX_TOP_K:
        raise InvalidOptionError(f"top_k must be between 1 and {MAX_TOP_K}, not {top_k}")
    english = text_language(text) == "en"
    if english:
        text = text.lower()
    analyse = _analyse()
    if method == "tfidf":
        found = analyse.default_tfidf.extract_tags(text, topK=top_k, withWeight=True)
    else:
        with _textrank_lock:
            found = _textrank().textrank(
                text, topK=top_k, withWeight=True, allowPOS=_TEXTRANK_POS_EN if english else _TEXTRANK_POS_ZH
            )
    return [Keyword(word, float(weight)) for word, weight in found if len(word.strip()) > 1]


__all__ = ["KEYWORD_METHODS", "SEGMENT_MODES", "Keyword", "Segmentation", "Token", "keywords", "segment"]
