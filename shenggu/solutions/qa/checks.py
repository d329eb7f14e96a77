"""One check per rule kind: a rule and a call → the rule's :class:`~shenggu.solutions.qa.record.RuleResult`,
with evidence naming the utterances and times that decided it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from shenggu.errors import InvalidOptionError
from shenggu.solutions.qa import timing
from shenggu.solutions.qa.matching import CallText, PhraseHit
from shenggu.solutions.qa.record import Call, Evidence, RuleResult
from shenggu.solutions.qa.rules import (
    EndingSentiment,
    ForbiddenPhrase,
    Interruption,
    MaxOvertalk,
    MaxSilence,
    RequiredPhrase,
    Rule,
    SpeakingRate,
    TagKeywords,
    Who,
    Window,
)
from shenggu.text.script import is_punctuation

# text → P(positive) in [0, 1], for utterances that come without a sentiment score
SentimentFn = Callable[[str], float]
_MAX_EVIDENCE = 5  # where a call-level verdict rests on many utterances, the most telling ones


@dataclass
class Context:
    """What the checks of one call share: the call, its searchable text, the sentiment function (may be None)."""

    call: Call
    text: CallText
    sentiment: SentimentFn | None = None
    _scores: dict[int, float | None] = field(default_factory=dict, repr=False)

    def sentiment_of(self, index: int) -> float | None:
        """Utterance ``index``'s P(positive): its own score, else the sentiment function's (once per utterance);
        None when it has none and there is no function or the function cannot score it (no Chinese)."""
        if index not in self._scores:
            utterance = self.call.utterances[index]
            score = utterance.sentiment
            if score is None and self.sentiment is not None:
                try:
                    score = float(self.sentiment(utterance.text))
                except InvalidOptionError:
                    score = None
            self._scores[index] = score
        return self._scores[index]

    def indexes(self, who: Who, within: Window | None = None) -> list[int]:
        """Utterances said by ``who`` inside ``within``, in call order."""
        return [
            i
            for i, u in enumerate(self.call.utterances)
            if (who == "any" or u.role == who) and (within is None or within.contains(u, self.call.duration))
        ]

    def evidence(
        self, index: int, detail: str = "", *, time: float | None = None, end: float | None = None
    ) -> Evidence:
        """Evidence pointing at utterance ``index`` (from its start unless ``time`` is given)."""
        u = self.call.utterances[index]
        return Evidence(index, u.start if time is None else time, u.text, end, detail)


def _result(rule: Rule, passed: bool, evidence: list[Evidence], reason: str) -> RuleResult:
    return RuleResult(rule.id, rule.name, rule.kind, passed, rule.weight, evidence, reason, rule.scoring)


def _hit_evidence(ctx: Context, hit: PhraseHit) -> list[Evidence]:
    return [ctx.evidence(i, hit.describe()) for i in hit.utterances]


def check_required(rule: RequiredPhrase, ctx: Context) -> RuleResult:
    """Passes when ``who`` says one of the phrases inside the window; the first such utterance is the evidence.
    A failure's reason names the closest utterance by meaning, when meaning is used."""
    indexes = ctx.indexes(rule.who, rule.within)
    hits = ctx.text.find(rule.phrases, indexes, sound_tolerance=rule.sound_tolerance)
    if not hits and rule.meaning_threshold is not None:  # meaning costs an embedding per sentence: only if needed
        hits = ctx.text.find(
            rule.phrases, indexes, sound_tolerance=rule.sound_tolerance, meaning_threshold=rule.meaning_threshold
        )
    place = f"{rule.who} {rule.within.describe()}"
    if hits:
        return _result(rule, True, _hit_evidence(ctx, hits[0]), f"said by {place}")
    reason = f"no utterance by {place} says it ({len(indexes)} searched)"
    if rule.meaning_threshold is not None and indexes:
        closest = max(ctx.text.by_meaning(rule.phrases, indexes), key=lambda h: h.score, default=None)
        if closest is not None:
            reason += (
                f"; closest: utterance {closest.utterances[0]} 「{closest.text}」 at meaning {closest.score:.2f}"
                f" (needs {rule.meaning_threshold:.2f})"
            )
            detail = f"closest, below the threshold: {closest.describe()}"
            return _result(rule, False, [ctx.evidence(closest.utterances[0], detail)], reason)
    return _result(rule, False, [], reason)


def check_forbidden(rule: ForbiddenPhrase, ctx: Context) -> RuleResult:
    """Fails for each utterance of ``who`` inside the window that says a phrase (denials excepted when
    ``ignore_negated``); every such utterance is evidence."""
    hits = ctx.text.find(
        rule.phrases,
        ctx.indexes(rule.who, rule.within),
        sound_tolerance=rule.sound_tolerance,
        meaning_threshold=rule.meaning_threshold,
    )
    if rule.ignore_negated:
        hits = [h for h in hits if not h.negated]
    evidence = [e for hit in hits for e in _hit_evidence(ctx, hit)]
    if evidence:
        return _result(rule, False, evidence, f"said {len(hits)} time(s) by {rule.who}")
    return _result(rule, True, [], f"not said by {rule.who} {rule.within.describe()}")


def check_silence(rule: MaxSilence, ctx: Context) -> RuleResult:
    """Fails for each silence longer than ``seconds``; evidence names the utterance before it (or after it, for
    a silence at the call's start) with the silence's span."""
    long = [g for g in timing.gaps(ctx.call, include_edges=rule.include_edges) if g.seconds > rule.seconds]
    evidence = [
        ctx.evidence(
            g.before if g.before is not None else g.after,  # type: ignore[arg-type]
            f"silence {g.seconds:.1f} s",
            time=g.start,
            end=g.end,
        )
        for g in long
        if g.before is not None or g.after is not None
    ]
    if long:
        top = max(g.seconds for g in long)
        return _result(rule, False, evidence, f"{len(long)} silence(s) over {rule.seconds:g} s, longest {top:.1f} s")
    return _result(rule, True, [], f"no silence over {rule.seconds:g} s")


def check_overtalk(rule: MaxOvertalk, ctx: Context) -> RuleResult:
    """Fails for each span of both parties talking longer than ``seconds``; evidence names the utterance that
    started the overlap (the later starter) with the span."""
    spans = [s for s in timing.overtalk(ctx.call) if s[1] - s[0] > rule.seconds]
    evidence = []
    for start, end in spans:
        talking = [i for i, u in enumerate(ctx.call.utterances) if u.start <= start < u.end]
        index = max(talking, key=lambda i: ctx.call.utterances[i].start)
        evidence.append(ctx.evidence(index, f"both talking {end - start:.1f} s", time=start, end=end))
    if spans:
        return _result(rule, False, evidence, f"{len(spans)} overtalk span(s) over {rule.seconds:g} s")
    return _result(rule, True, [], f"no overtalk over {rule.seconds:g} s")


def spoken_characters(text: str) -> int:
    """Characters that take time to say: everything but spaces and punctuation."""
    return sum(1 for c in text if not c.isspace() and not is_punctuation(c))


def check_speaking_rate(rule: SpeakingRate, ctx: Context) -> RuleResult:
    """Characters per second of ``who``: over all their utterances (``per: call``) or of each utterance at least
    ``min_duration`` long (``per: utterance``); fails outside [min, max]."""
    rated = [
        (i, spoken_characters(u.text) / u.duration)
        for i in ctx.indexes(rule.who)
        if (u := ctx.call.utterances[i]).duration >= rule.min_duration
    ]

    def outside(rate: float) -> str:
        if rule.max is not None and rate > rule.max:
            return "fast"
        if rule.min is not None and rate < rule.min:
            return "slow"
        return ""

    bounds = f"[{rule.min if rule.min is not None else '–'}, {rule.max if rule.max is not None else '–'}] chars/s"
    if rule.per == "utterance":
        bad = [(i, rate) for i, rate in rated if outside(rate)]
        evidence = [ctx.evidence(i, f"{rate:.1f} chars/s ({outside(rate)})") for i, rate in bad]
        if bad:
            return _result(rule, False, evidence, f"{len(bad)} utterance(s) of {rule.who} outside {bounds}")
        return _result(rule, True, [], f"every utterance of {rule.who} within {bounds}")
    utterances = [ctx.call.utterances[i] for i in ctx.indexes(rule.who)]
    seconds = sum(u.duration for u in utterances)
    if seconds <= 0:
        return _result(rule, True, [], f"{rule.who} did not talk")
    rate = sum(spoken_characters(u.text) for u in utterances) / seconds
    verdict = outside(rate)
    if not verdict:
        return _result(rule, True, [], f"{rule.who} at {rate:.1f} chars/s, within {bounds}")
    # the utterances that pull the rate out of bounds the most
    extreme = sorted(rated, key=lambda item: item[1], reverse=verdict == "fast")[:_MAX_EVIDENCE]
    evidence = [ctx.evidence(i, f"{r:.1f} chars/s") for i, r in extreme]
    return _result(rule, False, evidence, f"{rule.who} at {rate:.1f} chars/s ({verdict}), outside {bounds}")


def check_interruption(rule: Interruption, ctx: Context) -> RuleResult:
    """Counts the agent starting while the customer has ``min_overlap`` s or more left to say; fails above
    ``max_count``. Evidence: each interrupting agent utterance, at its start."""
    found = timing.interruptions(ctx.call, rule.min_overlap)
    evidence = [ctx.evidence(agent, f"customer cut off (utterance {customer})") for agent, customer in found]
    verdict = f"agent interrupted {len(found)} time(s), {rule.max_count} allowed"
    return _result(rule, len(found) <= rule.max_count, evidence, verdict)


def check_ending_sentiment(rule: EndingSentiment, ctx: Context) -> RuleResult:
    """Mean P(positive) of the customer's utterances ending in the last ``last`` seconds (the call's scores,
    else the sentiment function's); fails below ``negative_below``. Raises
    :class:`~shenggu.errors.InvalidOptionError` when an utterance has no score and no function was given."""
    indexes = ctx.indexes("customer", Window("last", rule.last))
    if not indexes:
        return _result(rule, True, [], f"the customer said nothing in the last {rule.last:g} s")
    if ctx.sentiment is None and any(ctx.call.utterances[i].sentiment is None for i in indexes):
        raise InvalidOptionError(
            f"rule '{rule.id}' needs a sentiment score on each customer utterance or a sentiment function"
        )
    scored = [(i, s) for i in indexes if (s := ctx.sentiment_of(i)) is not None]
    if not scored:
        return _result(rule, True, [], "no customer utterance at the end could be scored (no Chinese text)")
    indexes, scores = [i for i, _ in scored], [s for _, s in scored]
    mean = sum(scores) / len(scores)
    evidence = [ctx.evidence(i, f"P(positive) {s:.2f}") for i, s in zip(indexes, scores, strict=True)]
    passed = mean >= rule.negative_below
    mood = "not negative" if passed else "negative"
    reason = f"customer {mood} at the end: mean P(positive) {mean:.2f} (threshold {rule.negative_below:g})"
    return _result(rule, passed, evidence, reason)


def check_tags(rule: TagKeywords, ctx: Context) -> RuleResult:
    """Never fails: ``tags`` holds each tag whose keywords ``who`` said (by words or sound, denials included:
    我不想退保 is still about 退保); the evidence is each tag's first mention."""
    indexes = ctx.indexes(rule.who)
    evidence, tags = [], []
    for tag, words in rule.tags.items():
        hits = ctx.text.find(words, indexes, sound_tolerance=0.0)
        if hits:
            tags.append(tag)
            evidence += [ctx.evidence(i, f"tag {tag}: {hits[0].describe()}") for i in hits[0].utterances]
    result = _result(rule, True, evidence, f"tags: {', '.join(tags)}" if tags else "no tag keyword said")
    result.tags = tags
    return result


CHECKS: dict[str, Callable[[Rule, Context], RuleResult]] = {
    RequiredPhrase.kind: check_required,  # type: ignore[dict-item]
    ForbiddenPhrase.kind: check_forbidden,  # type: ignore[dict-item]
    MaxSilence.kind: check_silence,  # type: ignore[dict-item]
    MaxOvertalk.kind: check_overtalk,  # type: ignore[dict-item]
    SpeakingRate.kind: check_speaking_rate,  # type: ignore[dict-item]
    Interruption.kind: check_interruption,  # type: ignore[dict-item]
    EndingSentiment.kind: check_ending_sentiment,  # type: ignore[dict-item]
    TagKeywords.kind: check_tags,  # type: ignore[dict-item]
}
