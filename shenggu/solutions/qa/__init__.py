"""Call-centre quality inspection (客服质检): a call's utterances (agent and customer, with times) judged by a
versioned ruleset (required and forbidden phrases matched by words, sound and meaning; silence, overtalk,
speaking rate, interruptions, the customer's mood at the end; tags) into a scored result with evidence.

This package works on text with times; recognition, channel separation, batches, storage and reports plug in
around it. The bundled example ruleset is ``data/bank_default.yaml``; ``data/labelling.md`` says how to label
calls by hand against it."""

from shenggu.solutions.qa.engine import inspect, score
from shenggu.solutions.qa.matching import CallText, Embedder, PhraseHit, default_embedder
from shenggu.solutions.qa.record import ROLES, Call, CallResult, Evidence, RuleResult, TalkRatios, Utterance
from shenggu.solutions.qa.rules import (
    RULE_KINDS,
    EndingSentiment,
    ForbiddenPhrase,
    Interruption,
    MaxOvertalk,
    MaxSilence,
    RequiredPhrase,
    Rule,
    RulesError,
    Ruleset,
    SpeakingRate,
    TagKeywords,
    Window,
    parse_ruleset,
)
from shenggu.solutions.qa.rules_file import BUNDLED, bundled_ruleset, dump_rules, load_rules, parse_rules_text

__all__ = [
    "BUNDLED",
    "ROLES",
    "RULE_KINDS",
    "Call",
    "CallResult",
    "CallText",
    "Embedder",
    "EndingSentiment",
    "Evidence",
    "ForbiddenPhrase",
    "Interruption",
    "MaxOvertalk",
    "MaxSilence",
    "PhraseHit",
    "RequiredPhrase",
    "Rule",
    "RuleResult",
    "RulesError",
    "Ruleset",
    "SpeakingRate",
    "TagKeywords",
    "TalkRatios",
    "Utterance",
    "Window",
    "bundled_ruleset",
    "default_embedder",
    "dump_rules",
    "inspect",
    "load_rules",
    "parse_rules_text",
    "parse_ruleset",
    "score",
]
