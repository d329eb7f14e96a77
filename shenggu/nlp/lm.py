"""A Chinese word unigram language model over jieba's bundled dictionary (~350 k words with frequencies).

The score of a text is the log-probability of its best segmentation into dictionary words, so strings made of
real, frequent words score higher than same-sounding nonsense (佛地产 < 房地产). Used to accept or reject
homophone corrections. Hotwords can be added as extra words.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from shenggu.lazy import once
from shenggu.text.chinese import load_jieba
from shenggu.text.script import is_han

_MAX_WORD = 6
_HOTWORD_FREQ = 5000  # a hotword counts as a fairly common word


class WordLM:
    """Unigram word LM: ``score(text)`` is the best segmentation's log-probability (CJK characters only)."""

    def __init__(self) -> None:
        jieba = load_jieba()
        self.freq: dict[str, int] = jieba.dt.FREQ
        self._log_total = math.log(jieba.dt.total)

    def frequency(self, word: str, extra: frozenset[str] = frozenset()) -> int:
        """Dictionary frequency of ``word`` (0 when it is only a prefix or unknown)."""
        return _HOTWORD_FREQ if word in extra else self.freq.get(word) or 0

    def score(self, text: str, extra: Iterable[str] = ()) -> float:
        """Log-probability of the best segmentation of the CJK characters of ``text``."""
        chars = "".join(ch for ch in text if is_han(ch))
        words = frozenset(extra)
        n = len(chars)
        best = [0.0] * (n + 1)
        for i in range(n - 1, -1, -1):
            candidates = []
            for j in range(i + 1, min(n, i + _MAX_WORD) + 1):
                freq = self.frequency(chars[i:j], words)
                if freq > 0 or j == i + 1:
                    candidates.append(math.log(max(freq, 1)) - self._log_total + best[j])
            best[i] = max(candidates)
        return best[0]


@once
def get_word_lm() -> WordLM:
    """The process-wide word LM (jieba's dictionary loads once, ~1 s)."""
    return WordLM()
