"""A call's customer satisfaction and task accomplishment, estimated from its turns' text.

Five cues are read from a dialogue (turns of ``agent`` or ``customer``; see :func:`call_cues`):

* ``mood``: the customer's sentiment, each customer turn's P(positive) (:mod:`shenggu.nlp.sentiment_model`)
  mapped to [-1, 1] and averaged with weights ``decay ** (turns from the end)``: how the customer sounds at the
  end counts most (``decay`` 0: the last turn alone; 1: all turns alike);
* ``closing``: the customer's last turn thanks or confirms (谢谢, 解决了, 好的 …);
* ``complaint``: the share of customer turns, weighted like ``mood``, that complain (投诉, 失望, 无语 …);
* ``unresolved``: the customer's last turn still asks or says it still fails (还是不行, 怎么还, a question mark);
* ``deferral``: the agent's last turn puts the matter off (请私信, 转交, 核实后联系您 …): nothing solved yet.

The estimate is ``mood + closing·w₁ − complaint·w₂ − unresolved·w₃ − deferral·w₄`` squashed by tanh into (-1, 1):
a ranking score (higher: more satisfied / more accomplished), not the annotators' −2…2 scale. The weights and
``decay`` come from small grids (:data:`WEIGHT_GRID`, :data:`DECAY_GRID`); :data:`SATISFACTION` and
:data:`ACCOMPLISHMENT` were chosen by the Spearman correlation with the annotators' mean scores over the
``stc3-dch`` dev dialogues of ``shared/eval/callcentre`` (``shenggu bench qa`` re-runs the choice leave-one-out,
reports the held-out correlation and whether the choice on all dialogues still equals these constants). The cue
words are generic customer-service phrases, not taken from those dialogues.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from shenggu.text.script import has_han

SPEAKERS = ("agent", "customer")
DECAY_GRID = (0.0, 0.5, 1.0)
WEIGHT_GRID = (0.0, 0.5, 1.0, 2.0)

_CLOSING = re.compile(
    "谢谢|感谢|多谢|谢了|辛苦了|太好了|好的|好吧|明白了|知道了|清楚了|收到|解决了|已经好了|搞定|可以了|没问题了|满意|点赞|给力"
)
_COMPLAINT = re.compile(
    "投诉|失望|气愤|生气|愤怒|无语|垃圾|差劲|太差|很差|真差|欺骗|骗子|骗人|坑人|恶心|糟糕|不满|受不了|忍无可忍|"
    "崩溃|郁闷|心寒|荒唐|什么态度|推来推去|推三推四|踢皮球|敷衍|不讲理|搞什么|要你何用|太过分|举报|曝光|维权|"
    "再也不|没人管|没人理|打不通|不回复|没回复|没有回复|一直没|还没消息"
)
_STILL_FAILING = re.compile(
    "还是不行|还是没|还是不能|还没|仍然|仍旧|依然|依旧|怎么还|没有解决|没解决|没用|不能用|用不了|打不开|无法|"
    "到底|为什么|什么时候|怎么办|咋办"
)
_QUESTION = re.compile(r"[?？]|吗[。.!！~～]*$|呢[。.!！~～]*$")
_DEFERRAL = re.compile(
    "私信|转交|反馈给|已反馈|提交给|核实|核查|跟进|稍等|耐心等待|请您等待|联系您|回复您|留意|记录|"
    "提供.{0,12}(号码|订单|联系方式|账号|信息)|拨打|致电|营业厅"
)


@dataclass(frozen=True)
class Turn:
    """One turn of a dialogue: who spoke (``agent`` or ``customer``) and what was said."""

    speaker: str
    text: str


@dataclass(frozen=True)
class CallCues:
    """The cues of one dialogue (see the module doc); ``moods`` holds ``mood`` for each decay of
    :data:`DECAY_GRID`, ``complaints`` the weighted complaint share likewise."""

    moods: tuple[float, ...]
    complaints: tuple[float, ...]
    closing: float
    unresolved: float
    deferral: float
    customer_turns: int

    def to_dict(self) -> dict:
        """JSON form (rounded)."""
        data = asdict(self)
        return {k: [round(x, 4) for x in v] if isinstance(v, tuple) else v for k, v in data.items()}


@dataclass(frozen=True)
class OutcomeWeights:
    """The constants of one estimate: the end-weighting ``decay`` and the cue weights."""

    decay: float
    closing: float
    complaint: float
    unresolved: float
    deferral: float

    def score(self, cues: CallCues) -> float:
        """The estimate in (-1, 1) for ``cues`` (higher: better)."""
        k = DECAY_GRID.index(self.decay)
        raw = (
            cues.moods[k]
            + self.closing * cues.closing
            - self.complaint * cues.complaints[k]
            - self.unresolved * cues.unresolved
            - self.deferral * cues.deferral
        )
        return math.tanh(raw)


# Chosen on the 75 stc3-dch dev dialogues by Spearman correlation (`shenggu bench qa`: leave-one-out, 91-92 % of
# the folds choose these): the last customer turn alone sets the mood (decay 0).
SATISFACTION = OutcomeWeights(decay=0.0, closing=1.0, complaint=2.0, unresolved=1.0, deferral=1.0)
ACCOMPLISHMENT = OutcomeWeights(decay=0.0, closing=2.0, complaint=2.0, unresolved=1.0, deferral=2.0)


@dataclass(frozen=True)
class CallEstimate:
    """A call's estimated customer satisfaction and task accomplishment (each in (-1, 1)), with its cues."""

    satisfaction: float
    accomplishment: float
    cues: CallCues

    def to_dict(self) -> dict:
        """JSON form."""
        return {
            "satisfaction": round(self.satisfaction, 4),
            "accomplishment": round(self.accomplishment, 4),
            "cues": self.cues.to_dict(),
        }


Scorer = Callable[[Sequence[str]], np.ndarray]
"""P(positive) for each of a list of texts."""


def _default_scorer(texts: Sequence[str]) -> np.ndarray:
    from shenggu.nlp.sentiment_model import probabilities

    return probabilities(texts)


def _end_weighted(values: Sequence[float], decay: float) -> float:
    if not values:
        return 0.0
    weights = [decay ** (len(values) - 1 - i) for i in range(len(values))]  # 0.0 ** 0 == 1: the last turn
    return sum(w * v for w, v in zip(weights, values, strict=True)) / sum(weights)


def call_cues(turns: Sequence[Turn], scorer: Scorer | None = None) -> CallCues:
    """The cues of a dialogue. ``scorer`` gives P(positive) of texts (default: the shipped sentiment model);
    customer turns without Chinese text count as neutral (0.5). A dialogue without customer turns has
    neutral cues."""
    for turn in turns:
        if turn.speaker not in SPEAKERS:
            raise ValueError(f"speaker must be agent or customer, not {turn.speaker!r}")
    customer = [t.text.strip() for t in turns if t.speaker == "customer" and t.text.strip()]
    agent = [t.text.strip() for t in turns if t.speaker == "agent" and t.text.strip()]
    chinese = [text for text in customer if has_han(text)]
    scored = iter((scorer or _default_scorer)(chinese) if chinese else [])
    moods = [2.0 * float(next(scored)) - 1.0 if has_han(text) else 0.0 for text in customer]
    complaints = [float(bool(_COMPLAINT.search(text))) for text in customer]
    last = customer[-1] if customer else ""
    last_line = last.splitlines()[-1] if last else ""
    return CallCues(
        moods=tuple(_end_weighted(moods, d) for d in DECAY_GRID),
        complaints=tuple(_end_weighted(complaints, d) for d in DECAY_GRID),
        closing=float(bool(_CLOSING.search(last))),
        unresolved=float(bool(_STILL_FAILING.search(last) or _QUESTION.search(last_line))),
        deferral=float(bool(agent and _DEFERRAL.search(agent[-1]))),
        customer_turns=len(customer),
    )


def estimate_call(
    turns: Sequence[Turn],
    scorer: Scorer | None = None,
    satisfaction: OutcomeWeights = SATISFACTION,
    accomplishment: OutcomeWeights = ACCOMPLISHMENT,
) -> CallEstimate:
    """Estimate a call's customer satisfaction and task accomplishment from its turns."""
    cues = call_cues(turns, scorer)
    return CallEstimate(satisfaction.score(cues), accomplishment.score(cues), cues)


def all_weights() -> list[OutcomeWeights]:
    """Every candidate of the grids, in a fixed order (zero weights and small decays first)."""
    return [OutcomeWeights(d, *w) for d in DECAY_GRID for w in itertools.product(WEIGHT_GRID, repeat=4)]


def rank_correlation(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman's rank correlation (ties get their mean rank); 0 when either side is constant."""
    return float(_row_correlations(_ranks(np.asarray([x], dtype=float)), _ranks(np.asarray([y], dtype=float)))[0])


def _ranks(rows: np.ndarray) -> np.ndarray:
    """Each row's ranks from 1, ties sharing their mean rank: rank = #smaller + (#equal + 1) / 2."""
    below = (rows[:, None, :] < rows[:, :, None]).sum(axis=2)
    equal = (rows[:, None, :] == rows[:, :, None]).sum(axis=2)
    return below + (equal + 1) / 2.0


def _row_correlations(rows: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Pearson correlation of each row with ``target`` (one row); 0 for a constant row."""
    a = rows - rows.mean(axis=1, keepdims=True)
    b = target[0] - target[0].mean()
    norms = np.sqrt((a * a).sum(axis=1) * (b * b).sum())
    return np.divide(a @ b, norms, out=np.zeros(len(rows)), where=norms > 0)


def score_matrix(cues: Sequence[CallCues], candidates: Sequence[OutcomeWeights]) -> np.ndarray:
    """Every candidate's estimate of every dialogue, ``(len(candidates), len(cues))``."""
    moods = np.asarray([c.moods for c in cues]).T  # (decays, dialogues)
    complaints = np.asarray([c.complaints for c in cues]).T
    closing, unresolved, deferral = (
        np.asarray([getattr(c, k) for c in cues]) for k in ("closing", "unresolved", "deferral")
    )
    rows = []
    for w in candidates:
        k = DECAY_GRID.index(w.decay)
        rows.append(
            moods[k]
            + w.closing * closing
            - w.complaint * complaints[k]
            - w.unresolved * unresolved
            - w.deferral * deferral
        )
    return np.tanh(np.asarray(rows).reshape(len(candidates), len(cues)))


def choose_weights(cues: Sequence[CallCues], targets: Sequence[float]) -> tuple[OutcomeWeights, float]:
    """The candidate of :func:`all_weights` whose estimates correlate best (Spearman) with ``targets``, and that
    correlation (ties: the earliest candidate, i.e. the simplest)."""
    candidates = all_weights()
    rhos = _row_correlations(_ranks(score_matrix(cues, candidates)), _ranks(np.asarray([targets], dtype=float)))
    best = int(np.flatnonzero(rhos >= rhos.max() - 1e-12)[0])
    return candidates[best], float(rhos[best])


__all__ = [
    "ACCOMPLISHMENT",
    "DECAY_GRID",
    "SATISFACTION",
    "WEIGHT_GRID",
    "CallCues",
    "CallEstimate",
    "OutcomeWeights",
    "Turn",
    "all_weights",
    "call_cues",
    "choose_weights",
    "estimate_call",
    "rank_correlation",
    "score_matrix",
]
