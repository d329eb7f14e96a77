"""Call-centre quality inspection (客服质检): a call's utterances (agent and customer, with times) judged by a
versioned ruleset (required and forbidden phrases matched by words, sound and meaning; silence, overtalk,
speaking rate, interruptions, the customer's mood at the end; tags) into a scored result with evidence.

:mod:`~shenggu.solutions.qa.audio` turns a recording into a call (stereo: one party per channel; mono:
diarization), :mod:`~shenggu.solutions.qa.summary` writes a grounded summary, and batches, storage and reports
plug in around them. The bundled example ruleset is ``data/bank_default.yaml``; ``data/labelling.md`` says how to label
calls by hand against it."""

from shenggu.solutions.qa.audio import CallAudioOptions, call_from_audio
from shenggu.solutions.qa.engine import default_sentiment, inspect, score
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
from shenggu.solutions.qa.summary import CallSummary, ground_summary, summarize_call, summary_facts

__all__ = [
    "BUNDLED",
    "ROLES",
    "RULE_KINDS",
    "Call",
    "CallAudioOptions",
    "CallResult",
    "CallSummary",
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
    "call_from_audio",
    "default_embedder",
    "default_sentiment",
    "dump_rules",
    "ground_summary",
    "inspect",
    "load_rules",
    "parse_rules_text",
    "parse_ruleset",
    "score",
    "summarize_call",
    "summary_facts",
]
