"""A batch of inspected calls summed up: a scorecard per agent and per queue, each rule's failures, the mean score
per date, tag counts.

Shares are over the calls where a rule applied (a risk disclosure that only investment calls need is judged on
those alone); a rule that applied nowhere has no pass rate (None), not 100 %."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from statistics import fmean
from typing import Any

from shenggu.solutions.qa.record import Call, CallResult, TalkRatios
from shenggu.solutions.qa.rules import Ruleset

UNKNOWN = "(unknown)"  # the group of calls whose metadata does not name an agent / queue / date
_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})")


@dataclass
class InspectedCall:
    """One inspected item: its name in the batch (path relative to the batch folder), the call, its result."""

    name: str
    call: Call
    result: CallResult

    def field(self, key: str) -> str:
        """A metadata value as text ('' when absent)."""
        value = self.result.metadata.get(key)
        return "" if value is None else str(value).strip()

    @property
    def agent(self) -> str:
        """The agent named in the metadata, or :data:`UNKNOWN`."""
        return self.field("agent") or UNKNOWN

    @property
    def queue(self) -> str:
        """The queue named in the metadata, or :data:`UNKNOWN`."""
        return self.field("queue") or UNKNOWN

    @property
    def date(self) -> str:
        """The metadata's date as YYYY-MM-DD where it reads as one (2024/3/5, 2024年3月5日, an ISO time), else as
        written; '' when absent."""
        return normalized_date(self.field("date"))


def normalized_date(text: str) -> str:
    """``text`` as YYYY-MM-DD when it starts with a year, month and day; else ``text`` unchanged."""
    match = _DATE.match(text.strip())
    if not match:
        return text.strip()
    year, month, day = (int(g) for g in match.groups())
    return f"{year:04d}-{month:02d}-{day:02d}"


@dataclass
class Scorecard:
    """A group of calls (one agent's, one queue's): how many, their mean score, each scoring rule's pass rate
    (rule id → share of the calls where it applied that passed; None where it never applied), the mean talk
    ratios."""

    name: str
    calls: int
    mean_score: float
    pass_rates: dict[str, float | None]
    ratios: TalkRatios = field(default_factory=TalkRatios)


@dataclass
class RuleStats:
    """A scoring rule over the batch: the calls where it applied and how many of them failed it."""

    rule_id: str
    name: str
    kind: str
    weight: float
    applied: int
    failures: int

    @property
    def failure_share(self) -> float | None:
        """Failures over the calls where the rule applied (None: it applied nowhere)."""
        return self.failures / self.applied if self.applied else None

    @property
    def pass_rate(self) -> float | None:
        """Passes over the calls where the rule applied (None: it applied nowhere)."""
        share = self.failure_share
        return None if share is None else 1.0 - share

    def to_dict(self) -> dict[str, Any]:
        """JSON form, shares included."""
        return {
            "rule_id": self.rule_id,
            "name": self.name,
            "kind": self.kind,
            "weight": self.weight,
            "applied": self.applied,
            "failures": self.failures,
            "failure_share": self.failure_share,
            "pass_rate": self.pass_rate,
        }


@dataclass
class DatePoint:
    """One date of the trend: its calls and their mean score."""

    date: str
    calls: int
    mean_score: float


def scoring_rule_ids(ruleset: Ruleset) -> list[str]:
    """The ids of the rules that score, in ruleset order (tag rules left out)."""
    return [rule.id for rule in ruleset.rules if rule.scoring]


def _pass_rates(calls: Sequence[InspectedCall], rule_ids: Sequence[str]) -> dict[str, float | None]:
    applied: Counter[str] = Counter()
    passed: Counter[str] = Counter()
    for inspected in calls:
        for r in inspected.result.rules:
            if r.scoring and r.applicable:
                applied[r.rule_id] += 1
                passed[r.rule_id] += r.passed
    return {rid: (passed[rid] / applied[rid] if applied[rid] else None) for rid in rule_ids}


def _mean_ratios(calls: Sequence[InspectedCall]) -> TalkRatios:
    names = [f.name for f in fields(TalkRatios)]
    return TalkRatios(**{n: fmean(getattr(c.result.ratios, n) for c in calls) for n in names})


def scorecards(
    calls: Sequence[InspectedCall], ruleset: Ruleset, group: Callable[[InspectedCall], str]
) -> list[Scorecard]:
    """One scorecard per value of ``group`` (e.g. ``lambda c: c.agent``), sorted by name."""
    groups: dict[str, list[InspectedCall]] = defaultdict(list)
    for inspected in calls:
        groups[group(inspected)].append(inspected)
    rule_ids = scoring_rule_ids(ruleset)
    return [
        Scorecard(
            name=name,
            calls=len(members),
            mean_score=fmean(c.result.score for c in members),
            pass_rates=_pass_rates(members, rule_ids),
            ratios=_mean_ratios(members),
        )
        for name, members in sorted(groups.items())
    ]


def rule_stats(calls: Sequence[InspectedCall], ruleset: Ruleset) -> list[RuleStats]:
    """Each scoring rule's applications and failures over ``calls``, in ruleset order."""
    applied: Counter[str] = Counter()
    failed: Counter[str] = Counter()
    for inspected in calls:
        for r in inspected.result.rules:
            if r.scoring and r.applicable:
                applied[r.rule_id] += 1
                failed[r.rule_id] += not r.passed
    return [
        RuleStats(rule.id, rule.name, rule.kind, rule.weight, applied[rule.id], failed[rule.id])
        for rule in ruleset.rules
        if rule.scoring
    ]


def top_failed(stats: Sequence[RuleStats], limit: int | None = None) -> list[RuleStats]:
    """The rules failed at least once, most failures first (then the larger share, then ruleset order)."""
    failed = [s for s in stats if s.failures]
    ranked = sorted(failed, key=lambda s: (-s.failures, -(s.failure_share or 0.0)))  # stable: ruleset order
    return ranked[:limit]


def date_trend(calls: Sequence[InspectedCall]) -> list[DatePoint]:
    """Calls and mean score per date, in date order; empty when no call has a date."""
    by_date: dict[str, list[float]] = defaultdict(list)
    for inspected in calls:
        if inspected.date:
            by_date[inspected.date].append(inspected.result.score)
    return [DatePoint(date, len(scores), fmean(scores)) for date, scores in sorted(by_date.items())]


def tag_counts(calls: Sequence[InspectedCall]) -> dict[str, int]:
    """How many calls carry each tag, most frequent first (ties by tag)."""
    counts = Counter(tag for inspected in calls for tag in set(inspected.result.tags))
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))
