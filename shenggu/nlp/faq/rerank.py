"""Optional re-ranking of FAQ candidates by the bundled language model: a slower, more accurate profile.

For each of the ``RERANK_K`` best candidates the model is asked whether the candidate's matched question asks
the same thing as the query (``判断两个客服问题的意思是否相同 … 只回答“是”或“否”``), and the log-odds
``log P(是) - log P(否)`` of its first answer token is the judgement (prompt evaluation plus one token's
distribution; nothing is generated). A candidate's re-ranking score is its retrieval score plus
``RERANK_WEIGHT`` times the judgement; only the order of those candidates changes (their ``score`` stays the
retrieval score, which the confidence model reads).

The prompt is in ChatML, the packaged Qwen2.5's format, and the weight was chosen for that model:
``RERANK_WEIGHT`` from {0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 1} by 10-fold cross-validation on the 57 typed
dev queries (every fold chose 0.1; see the README for the held-out numbers and the cost per query).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Protocol

RERANK_K = 5
RERANK_WEIGHT = 0.1
_FLOOR = -20.0  # log-probability of an answer token that is not among the top tokens read
_TOP_TOKENS = 20
_CACHE_SIZE = 4096  # judgements kept (query, question): repeated questions are common at a kiosk

_PROMPT = (
    "<|im_start|>user\n判断两个客服问题的意思是否相同。\n问题一：{query}\n问题二：{candidate}\n"
    "意思相同吗？只回答“是”或“否”。<|im_end|>\n<|im_start|>assistant\n"
)


class TokenScorer(Protocol):
    """What the judge needs of a language model (``LlamaModel`` has it)."""

    def next_token_logprobs(self, prompt: str, top: int = 20) -> dict[str, float]:
        """Log-probabilities of the likeliest tokens after ``prompt``."""
        ...


class LlmJudge:
    """Judges whether two questions ask the same thing, with a language model; judgements are cached."""

    def __init__(self, model: TokenScorer):
        self.model = model
        self._cache: OrderedDict[tuple[str, str], float] = OrderedDict()
        self._lock = threading.Lock()

    def same_question(self, query: str, candidate: str) -> float:
        """``log P(是) - log P(否)`` for "do ``query`` and ``candidate`` ask the same thing?" (positive: yes)."""
        key = (query, candidate)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        logprobs = self.model.next_token_logprobs(_PROMPT.format(query=query, candidate=candidate), _TOP_TOKENS)
        floor = min(logprobs.values(), default=_FLOOR)  # an answer token not read is at most this likely
        judgement = logprobs.get("是", floor) - logprobs.get("否", floor)
        with self._lock:
            self._cache[key] = judgement
            if len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)
        return judgement


def rerank_order(scores: list[float], judgements: list[float], weight: float = RERANK_WEIGHT) -> list[int]:
    """Positions of candidates (retrieval ``scores``, best first) in their re-ranked order."""
    fused = [s + weight * j for s, j in zip(scores, judgements, strict=True)]
    return sorted(range(len(fused)), key=lambda i: -fused[i])


def rerank_head(order: list[int], scores: Sequence[float], judgements: list[float], weight: float) -> list[int]:
    """``order`` (entries, best first; ``scores`` by entry) with its first ``len(judgements)`` entries
    re-ranked by their judgements, the rest as they were."""
    head = order[: len(judgements)]
    return [head[i] for i in rerank_order([scores[e] for e in head], judgements, weight)] + order[len(head) :]
