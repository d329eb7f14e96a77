"""A call to inspect (utterances with roles and times) and what inspection finds (rule results, score, talk
ratios, tags).

Times are seconds from the start of the recording. Utterances are referred to by their index in
:attr:`Call.utterances`, so every piece of evidence can be played back (later: an audio link per utterance)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from shenggu.errors import InvalidOptionError

Role = Literal["agent", "customer"]
ROLES: tuple[str, ...] = Role.__args__  # type: ignore[attr-defined]


@dataclass
class Utterance:
    """One party's turn. ``channel`` is the stereo channel it came from (None for mono or text); ``sentiment`` is
    the customer's or agent's P(positive) in [0, 1] where an upstream model scored it."""

    role: Role
    start: float
    end: float
    text: str
    channel: int | None = None
    sentiment: float | None = None

    @property
    def duration(self) -> float:
        """Seconds from start to end."""
        return self.end - self.start


@dataclass
class Call:
    """A recorded call: its utterances (in the order given; indexes name them in evidence), its duration (at
    least the end of the last utterance) and free metadata (agent id, queue, date, ...). Raises
    :class:`~shenggu.errors.InvalidOptionError` for an unknown role, a negative or reversed time, or a score
    outside [0, 1]."""

    utterances: list[Utterance]
    duration: float = 0.0
    metadata: dict[str, Any] = field(default_factory=dict)
    id: str = ""

    def __post_init__(self) -> None:
        for index, u in enumerate(self.utterances):
            where = f"utterance {index}"
            if u.role not in ROLES:
                raise InvalidOptionError(f"{where}: role must be one of {', '.join(ROLES)}, got {u.role!r}")
            if not (math.isfinite(u.start) and math.isfinite(u.end)) or u.start < 0 or u.end < u.start:
                raise InvalidOptionError(f"{where}: times must satisfy 0 ≤ start ≤ end, got {u.start}–{u.end}")
            if u.sentiment is not None and not 0.0 <= u.sentiment <= 1.0:
                raise InvalidOptionError(f"{where}: sentiment must be in [0, 1], got {u.sentiment}")
        self.duration = max([self.duration, *(u.end for u in self.utterances)])

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Call:
        """Rebuild a call from its JSON form (``asdict``'s shape)."""
        return cls(
            utterances=[Utterance(**u) for u in data.get("utterances", [])],
            duration=float(data.get("duration", 0.0)),
            metadata=dict(data.get("metadata", {})),
            id=str(data.get("id", "")),
        )


@dataclass
class Evidence:
    """Where a rule's finding is in the call: the utterance's index, the time to listen from, its text; ``end``
    where the finding is a span (a silence, an overtalk), ``detail`` says what was found (the phrase and how it
    matched, a duration, a rate)."""

    utterance: int
    time: float
    text: str
    end: float | None = None
    detail: str = ""


@dataclass
class RuleResult:
    """One rule's verdict on one call. ``scoring`` is false for rules that only tag (their ``passed`` is true,
    ``tags`` the tags they found); ``applicable`` is false where the rule's ``applies_if`` words were not said
    (it passes and does not count in the score)."""

    rule_id: str
    name: str
    kind: str
    passed: bool
    weight: float
    evidence: list[Evidence] = field(default_factory=list)
    reason: str = ""
    scoring: bool = True
    tags: list[str] = field(default_factory=list)
    applicable: bool = True


@dataclass
class TalkRatios:
    """Shares of the call's duration: each party talking (overtalk counts for both), nobody talking, both
    talking at once."""

    agent: float = 0.0
    customer: float = 0.0
    silence: float = 0.0
    overtalk: float = 0.0


@dataclass
class CallResult:
    """A call's inspection: the score out of 100 (passed weight over the weight of the scoring rules), each rule's
    result in ruleset order, talk ratios, the tags found, which ruleset (name, version) judged it, each party's
    sentiment over time, and a summary where one was written."""

    score: float
    rules: list[RuleResult]
    ratios: TalkRatios
    tags: list[str] = field(default_factory=list)
    ruleset: str = ""
    ruleset_version: str = ""
    call_id: str = ""
    duration: float = 0.0
    metadata: dict[str, Any] = field(default_factory=dict)
    # role → [(utterance start, P(positive))] for each utterance that could be scored
    sentiment_curve: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    summary: str = ""  # grounded summary (see summary.py); "" when none was asked for
    summary_dropped: list[str] = field(default_factory=list)  # summary sentences dropped as not grounded
    summary_error: str = ""  # why no summary could be written (the model failed); the inspection stands

    @property
    def failed(self) -> list[RuleResult]:
        """The scoring rules the call failed."""
        return [r for r in self.rules if r.scoring and r.applicable and not r.passed]

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape for systems and reports."""
        return asdict(self)
