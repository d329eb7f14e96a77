"""Lexical ranking for FAQ retrieval: BM25 over jieba words, Chinese character bigrams and pinyin bigrams.

Text is normalized the same way for the knowledge base and the query (``normalize``): NFKC (full-width →
half-width), lower case, traditional → simplified (OpenCC, as ASR output is), masking runs such as ``***``
removed. Terms are

- words (``w:``): jieba's search-mode cut (``lcut_for_search``: 公积金提取 → 公积, 积金, 公积金, 提取), English
  words by letters and digits; punctuation and a short list of question words, particles and pronouns (怎么, 什么,
  吗, 请问, how, the ...) are dropped: nearly every question has them, so they only add noise to the match;
- character bigrams (``b:``) of each run of Chinese characters between stopwords, so that 提现 / 借款 still
  match after a wrong word cut, and a typo in one character leaves the bigrams of the others;
- toneless pinyin bigrams (``p:``) of the same runs, so that a same-sounding typo or ASR error (借袋 for 借贷,
  邦定 for 绑定, 微粒带 for 微粒贷) still matches.

Each question or alternative text is one BM25 document (k1 = 1.2, b = 0.75, the usual defaults; the IDF of
Robertson–Spärck Jones plus one, so it stays positive). ``Bm25Index.normalized`` divides by the score the query
would get against a copy of itself, which puts scores of short and long queries on one scale (about 0 to 1).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence

import numpy as np

from shenggu.text.chinese import load_jieba, to_simplified
from shenggu.text.pinyin import syllables
from shenggu.text.script import HAN_RUN, has_han

K1 = 1.2
B = 0.75

# Words every question may carry whatever it asks: interrogatives, particles, pronouns, greetings. Deliberately
# short: words that change the meaning (不, 没, 能, 可以, 为什么, 多少, 哪里, 还) stay.
ZH_STOPWORDS = frozenset(
    """
    怎么 怎样 怎么样 怎么办 如何 什么 啥 吗 嘛 呢 吧 啊 呀 哦 哈 么 的 了 地 得 着 过 是 在 有 和 与 及 或 就
    都 也 我 你 您 他 她 它 我们 你们 他们 咱 咱们 这 那 这个 那个 这样 那样 一下 一个 请问 请 问 麻烦 你好 您好
    谢谢 想 要 想要 需要 会 哪 个 些 下 我要 我想 想问 问下 问一下
    """.split()  # noqa: SIM905  (a word list reads better than a list literal)
)
EN_STOPWORDS = frozenset(
    """
    a an the of to in on at for from by with and or is are am was were be been do does did doing i me my we our
    you your he she it its they them their this that these those what how which who whom when where can could
    would should will shall may might must please hi hello there here about into as if so any some get
    """.split()  # noqa: SIM905
)
_LATIN_WORD = re.compile(r"[a-z0-9]+(?:['.][a-z0-9]+)*")
_MASK = re.compile(r"[*#]{2,}|x{3,}")  # anonymized spans in logged questions (***), not words


def normalize(text: str) -> str:
    """NFKC (full-width → half-width), lower case, traditional → simplified, masking runs removed, spaces
    collapsed."""
    text = to_simplified(unicodedata.normalize("NFKC", text).lower())
    return " ".join(_MASK.sub(" ", text).split())


def words(norm: str) -> list[str]:
    """The content words of a normalized text: jieba's search-mode cut for Chinese, letter/digit runs for the
    rest, without punctuation and stopwords."""
    out: list[str] = []
    for token in load_jieba().lcut_for_search(norm):
        token = token.strip()
        if not token or token in ZH_STOPWORDS or not any(c.isalnum() for c in token):
            continue
        if has_han(token):
            out.append(token)
        else:
            out.extend(w for w in _LATIN_WORD.findall(token) if w not in EN_STOPWORDS)
    return out


def content_text(norm: str) -> str:
    """A normalized text without its stopwords (spaces where they were): what the question is about."""
    kept = []
    for token in load_jieba().lcut(norm):
        if token in ZH_STOPWORDS or token.strip() in EN_STOPWORDS:
            kept.append(" ")
        else:
            kept.append(token)
    return " ".join("".join(kept).split())


def han_runs(norm: str) -> list[str]:
    """The runs of Chinese characters of a normalized text, cut at stopwords."""
    return HAN_RUN.findall(content_text(norm))


def _bigrams(items: Sequence[str]) -> list[str]:
    if len(items) == 1:
        return [items[0]]
    return [items[i] + items[i + 1] for i in range(len(items) - 1)]


def terms(text: str) -> list[str]:
    """Everything BM25 matches on: words, Chinese character bigrams and toneless pinyin bigrams."""
    norm = normalize(text)
    out = [f"w:{w}" for w in words(norm)]
    for run in han_runs(norm):
        out += [f"b:{g}" for g in _bigrams(run)]
        out += [f"p:{g}" for g in _bigrams([s + " " for s in syllables(run, "none", unreadable="run")])]
    return out


class Bm25Index:
    """BM25 over a list of texts (documents)."""

    def __init__(self, texts: Sequence[str]):
        self.tf = [Counter(terms(t)) for t in texts]
        self.lengths = np.array([sum(c.values()) for c in self.tf], dtype=np.float64)
        n = len(texts)
        self.avg_len = float(self.lengths.mean()) if n and self.lengths.sum() else 1.0
        df: Counter = Counter()
        for counts in self.tf:
            df.update(counts.keys())
        self.n_docs = n
        self.idf = {t: math.log((n - f + 0.5) / (f + 0.5) + 1.0) for t, f in df.items()}
        self.postings: dict[str, list[tuple[int, int]]] = {}
        for d, counts in enumerate(self.tf):
            for term, tf in counts.items():
                self.postings.setdefault(term, []).append((d, tf))
        self._norm = K1 * (1.0 - B + B * self.lengths / self.avg_len)

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every document (0.0 where no term matches)."""
        out = np.zeros(self.n_docs)
        for term, qtf in Counter(terms(query)).items():
            idf = self.idf.get(term)
            if idf is None:
                continue
            for d, tf in self.postings[term]:
                out[d] += qtf * idf * tf * (K1 + 1.0) / (tf + self._norm[d])
        return out

    def self_score(self, query: str) -> float:
        """The score ``query`` would get against a document identical to it (terms unseen in the index count
        with the highest IDF): the most a document can score, roughly."""
        counts = Counter(terms(query))
        length = sum(counts.values())
        norm = K1 * (1.0 - B + B * length / self.avg_len)
        top_idf = math.log((self.n_docs + 0.5) / 0.5 + 1.0)
        return sum(n * self.idf.get(t, top_idf) * n * (K1 + 1.0) / (n + norm) for t, n in counts.items())

    def normalized(self, query: str) -> np.ndarray:
        """``scores / self_score``: about 0 (nothing shared) to 1 (the same terms)."""
        top = self.self_score(query)
        return self.scores(query) / top if top > 0 else np.zeros(self.n_docs)
