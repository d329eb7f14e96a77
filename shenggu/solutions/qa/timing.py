"""Who talks when: the union of each party's utterances, silences between them, overtalk (both at once), the
agent starting while the customer talks, and the talk ratios. Times are seconds; spans are (start, end)."""

from __future__ import annotations

from dataclasses import dataclass

from shenggu.solutions.qa.record import Call, TalkRatios

Span = tuple[float, float]


@dataclass(frozen=True)
class Gap:
    """A span with nobody talking; ``before`` is the utterance that ends last before it (None: the call's start),
    ``after`` the one that starts it off again (None: the call's end)."""

    start: float
    end: float
    before: int | None
    after: int | None

    @property
    def seconds(self) -> float:
        """Its length."""
        return self.end - self.start


def union(spans: list[Span]) -> list[Span]:
    """Overlapping or touching spans merged, in time order."""
    merged: list[list[float]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(s, e) for s, e in merged]


def intersection(first: list[Span], second: list[Span]) -> list[Span]:
    """Where two unions (from :func:`union`) overlap, in time order (zero-length touches left out)."""
    out, i, j = [], 0, 0
    while i < len(first) and j < len(second):
        start, end = max(first[i][0], second[j][0]), min(first[i][1], second[j][1])
        if end > start:
            out.append((start, end))
        if first[i][1] < second[j][1]:
            i += 1
        else:
            j += 1
    return out


def total(spans: list[Span]) -> float:
    """Summed length of disjoint spans."""
    return sum(end - start for start, end in spans)


def party_spans(call: Call, role: str) -> list[Span]:
    """When ``role`` talks: the union of its utterances."""
    return union([(u.start, u.end) for u in call.utterances if u.role == role])


def gaps(call: Call, *, include_edges: bool = False) -> list[Gap]:
    """Every span with nobody talking, in time order; with ``include_edges`` also before the first utterance and
    after the last one (up to the call's duration)."""
    order = sorted(range(len(call.utterances)), key=lambda i: (call.utterances[i].start, call.utterances[i].end))
    out: list[Gap] = []
    last_end, last_index = 0.0, None
    for index in order:
        u = call.utterances[index]
        if u.start > last_end and (last_index is not None or include_edges):
            out.append(Gap(last_end, u.start, last_index, index))
        if last_index is None or u.end >= last_end:
            last_end, last_index = u.end, index
    if include_edges and call.duration > last_end:
        out.append(Gap(last_end, call.duration, last_index, None))
    return out


def overtalk(call: Call) -> list[Span]:
    """Spans where agent and customer talk at once."""
    return intersection(party_spans(call, "agent"), party_spans(call, "customer"))


def speaker_at(call: Call, time: float, role: str) -> int | None:
    """The utterance of ``role`` that covers ``time`` (the first one starting at or before it), None if none."""
    covering = [i for i, u in enumerate(call.utterances) if u.role == role and u.start <= time < u.end]
    return min(covering, key=lambda i: call.utterances[i].start) if covering else None


def interruptions(call: Call, min_overlap: float) -> list[tuple[int, int]]:
    """(agent utterance, customer utterance) for each time the agent starts while the customer has at least
    ``min_overlap`` seconds of that utterance left to say, in time order."""
    out = []
    for index, u in sorted(enumerate(call.utterances), key=lambda item: item[1].start):
        if u.role != "agent":
            continue
        customer = speaker_at(call, u.start, "customer")
        # the customer started first (a customer utterance starting at the same moment is overtalk, not this)
        if (
            customer is not None
            and call.utterances[customer].start < u.start
            and min(call.utterances[customer].end, u.end) - u.start >= min_overlap
        ):
            out.append((index, customer))
    return out


def talk_ratios(call: Call) -> TalkRatios:
    """Shares of the call's duration: each party talking, nobody talking, both at once (0 for an empty call)."""
    if call.duration <= 0:
        return TalkRatios()
    agent, customer = party_spans(call, "agent"), party_spans(call, "customer")
    both = total(intersection(agent, customer))
    anyone = total(agent) + total(customer) - both
    return TalkRatios(
        agent=total(agent) / call.duration,
        customer=total(customer) / call.duration,
        silence=max(0.0, call.duration - anyone) / call.duration,
        overtalk=both / call.duration,
    )
