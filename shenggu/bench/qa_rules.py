"""Rule precision and recall of quality inspection against labels written by reading the dialogues
(``shenggu/bench/data/qa_rule_labels.tsv``, written by the protocol of ``shenggu/solutions/qa/data/labelling.md``).

The positive class is *the rule fires*: a required phrase missing, a forbidden phrase said, a tag present. A
(dialogue, rule) pair counts where the label is ``fires`` or ``ok`` (``n/a`` pairs are left out) and the engine
judged the rule (a rule whose ``applies_if`` words nobody said does not fire).

Text dialogues have no times, and labelling.md judges the greeting on the agent's first turn and the closing on
the agent's last two turns. :func:`timed_call` gives the turns times that make the rules' windows mean exactly
that: the turns up to the agent's first start in the first 15 s, those from the agent's second-to-last turn on end
in the last 30 s, and the turns between lie outside both (20 s apart). Silence and overtalk are labelled n/a.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shenggu.bench.stats import bootstrap_ratio_interval
from shenggu.errors import InvalidOptionError
from shenggu.nlp.satisfaction import Turn
from shenggu.solutions.qa import Call, CallResult, Ruleset, Utterance

LABELS = Path(__file__).parent / "data" / "qa_rule_labels.tsv"
LABEL_COLUMNS = ("id", "rule", "label", "turn", "note")
_HEAD_SECONDS, _TAIL_SECONDS, _APART = 14.0, 29.0, 20.0  # inside "first 15 s" / "last 30 s"; outside both
_TURN_SECONDS = 0.5


@dataclass(frozen=True)
class Judged:
    """One (dialogue, rule) pair: the label's truth and the engine's verdict (True = fires)."""

    dialogue: str
    rule: str
    truth: bool
    fired: bool


def load_labels(path: Path = LABELS) -> dict[tuple[str, str], bool]:
    """``(dialogue id, rule)`` → True where the rule fires, False where it does not (n/a rows left out)."""
    try:
        rows = list(csv.DictReader(path.read_text(encoding="utf-8-sig").splitlines(), delimiter="\t"))
    except OSError as exc:
        raise InvalidOptionError(f"cannot read the rule labels {path}: {exc}") from None
    if rows and any(c not in rows[0] for c in LABEL_COLUMNS):
        raise InvalidOptionError(f"{path}: the rule labels need the columns {', '.join(LABEL_COLUMNS)}")
    return {(r["id"], r["rule"]): r["label"] == "fires" for r in rows if r["label"] in ("fires", "ok")}


def timed_call(turns: Sequence[Turn], call_id: str = "") -> Call:
    """A text dialogue as a call whose times put its turns where labelling.md judges them (see the module doc)."""
    agent = [i for i, t in enumerate(turns) if t.speaker == "agent"]
    first_agent = agent[0] if agent else -1
    tail_from = agent[-2] if len(agent) >= 2 else (agent[-1] if agent else len(turns))
    if tail_from <= first_agent:  # the agent's first turn is also one of its last two: a short call, all near
        starts = [i * _HEAD_SECONDS / max(len(turns), 1) for i in range(len(turns))]
        return _call(turns, starts, call_id)
    head = [i * _HEAD_SECONDS / (first_agent + 1) for i in range(first_agent + 1)]
    middle = [head[-1] + _APART * k for k in range(1, tail_from - first_agent)]
    tail_start = (middle[-1] if middle else head[-1]) + _APART + _TAIL_SECONDS + 1.0
    count = len(turns) - tail_from
    tail = [tail_start + k * _TAIL_SECONDS / count for k in range(count)]
    return _call(turns, [*head, *middle, *tail], call_id)


def _call(turns: Sequence[Turn], starts: Sequence[float], call_id: str) -> Call:
    roles = [t.speaker if t.speaker in ("agent", "customer") else "customer" for t in turns]
    utterances = [
        Utterance(role, start, start + _TURN_SECONDS, t.text)  # type: ignore[arg-type]
        for role, start, t in zip(roles, starts, turns, strict=True)
    ]
    return Call(utterances, id=call_id)


def verdicts(result: CallResult) -> dict[str, bool]:
    """Rule id → whether it fired in ``result``, and ``tag:NAME`` → True for each tag found."""
    fired = {r.rule_id: r.applicable and not r.passed for r in result.rules if r.scoring}
    fired.update({f"tag:{tag}": True for tag in result.tags})
    return fired


def judge(labels: dict[tuple[str, str], bool], dialogue: str, fired: dict[str, bool]) -> list[Judged]:
    """The labelled pairs of ``dialogue`` with the engine's verdicts (a labelled tag the engine did not find did
    not fire)."""
    return [
        Judged(dialogue, rule, truth, fired.get(rule, False))
        for (labelled, rule), truth in labels.items()
        if labelled == dialogue
    ]


def rule_scores(pairs: Sequence[Judged]) -> dict:
    """Micro precision and recall (with bootstrap intervals over dialogues) and per-rule counts."""
    summary: dict = {"n_rule_pairs": len(pairs)}
    by_dialogue: dict[str, list[Judged]] = {}
    for p in pairs:
        by_dialogue.setdefault(p.dialogue, []).append(p)
    groups = list(by_dialogue.values())
    hits = [sum(p.truth and p.fired for p in g) for g in groups]
    fired = [sum(p.fired for p in g) for g in groups]
    truths = [sum(p.truth for p in g) for g in groups]
    if sum(fired):
        summary["rule_precision"] = round(sum(hits) / sum(fired), 4)
        summary["rule_precision_ci"] = [round(v, 4) for v in bootstrap_ratio_interval(hits, fired)]
    if sum(truths):
        summary["rule_recall"] = round(sum(hits) / sum(truths), 4)
        summary["rule_recall_ci"] = [round(v, 4) for v in bootstrap_ratio_interval(hits, truths)]
    summary["rule_accuracy"] = round(float(np.mean([p.truth == p.fired for p in pairs])), 4) if pairs else None
    per_rule: dict[str, dict] = {}
    for p in pairs:
        counts = per_rule.setdefault(p.rule, {"tp": 0, "fp": 0, "fn": 0, "tn": 0})
        counts[("t" if p.truth == p.fired else "f") + ("p" if p.fired else "n")] += 1
    summary["rule_counts"] = dict(sorted(per_rule.items()))
    return summary


def judge_dialogues(
    dialogues: Sequence[dict], ruleset: Ruleset, labels: dict[tuple[str, str], bool], errors: list[dict]
) -> list[Judged]:
    """Inspect each dialogue (as :func:`timed_call`) by ``ruleset`` and pair the verdicts with the labels; a
    dialogue that cannot be inspected is an error entry and the others go on."""
    from shenggu.solutions.qa import default_sentiment, inspect

    pairs: list[Judged] = []
    for d in dialogues:
        try:
            result = inspect(timed_call(d["turns"], d["id"]), ruleset, sentiment=default_sentiment)
        except Exception as exc:  # one dialogue that cannot be inspected is reported; the others go on
            errors.append({"kind": "rules", "where": d["id"], "error": f"{type(exc).__name__}: {exc}"[:200]})
            continue
        pairs += judge(labels, d["id"], verdicts(result))
    return pairs
