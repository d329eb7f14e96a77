"""Inspection: a call and a ruleset → a :class:`~shenggu.solutions.qa.record.CallResult` (every rule's verdict with
its evidence, the score out of 100, talk ratios, tags)."""

from __future__ import annotations

from shenggu.solutions.qa.checks import CHECKS, Context, SentimentFn
from shenggu.solutions.qa.matching import CallText, Embedder
from shenggu.solutions.qa.record import Call, CallResult, RuleResult
from shenggu.solutions.qa.rules import Rule, Ruleset
from shenggu.solutions.qa.timing import talk_ratios


def default_sentiment(text: str) -> float:
    """P(positive) of ``text`` by the platform's default sentiment engine (raises InvalidOptionError for text
    without Chinese, which inspection treats as unscored)."""
    from shenggu.nlp.sentiment import sentiment

    return sentiment(text).score


def score(results: list[RuleResult]) -> float:
    """100 × the weight of the passed scoring rules / the weight of all applicable scoring rules (100 when none
    weighs), rounded to 2 decimals."""
    counted = [r for r in results if r.scoring and r.applicable]
    total = sum(r.weight for r in counted)
    if not total:
        return 100.0
    return round(100.0 * sum(r.weight for r in counted if r.passed) / total, 2)


def _judge(rule: Rule, context: Context) -> RuleResult:
    """The rule's check, or a pass that does not count where none of its ``applies_if`` words was said."""
    if rule.applies_if:
        everyone = context.indexes("any")
        if not context.text.find(rule.applies_if, everyone, sound_tolerance=0.0):
            reason = f"not applicable: nobody said {', '.join(rule.applies_if)}"
            return RuleResult(rule.id, rule.name, rule.kind, True, rule.weight, [], reason, rule.scoring, [], False)
    return CHECKS[rule.kind](rule, context)


def inspect(
    call: Call,
    ruleset: Ruleset,
    *,
    embed: Embedder | None = None,
    sentiment: SentimentFn | None = None,
) -> CallResult:
    """Judge ``call`` by every rule of ``ruleset``.

    ``embed`` turns texts into sentence embeddings for matching by meaning (default: the bundled multilingual
    encoder, loaded only if a rule matches by meaning); ``sentiment`` gives P(positive) of a customer utterance
    that has no score of its own (needed by ``ending_sentiment`` rules, and for the result's sentiment curve). Raises
    :class:`~shenggu.errors.InvalidOptionError` when an ``ending_sentiment`` rule finds an unscored utterance and
    no ``sentiment`` function."""
    context = Context(call, CallText(call, embed), sentiment)
    results = [_judge(rule, context) for rule in ruleset.rules]
    curve: dict[str, list[tuple[float, float]]] = {}
    for index, utterance in enumerate(call.utterances):
        if (p := context.sentiment_of(index)) is not None:
            curve.setdefault(utterance.role, []).append((utterance.start, round(p, 4)))
    tags = list(dict.fromkeys(tag for result in results for tag in result.tags))
    return CallResult(
        score=score(results),
        rules=results,
        ratios=talk_ratios(call),
        tags=tags,
        ruleset=ruleset.name,
        ruleset_version=ruleset.version,
        call_id=call.id,
        duration=call.duration,
        metadata=dict(call.metadata),
        sentiment_curve=curve,
    )
