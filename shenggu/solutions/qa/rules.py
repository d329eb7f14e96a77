"""Quality-inspection rules as dataclasses, and their parsing from the plain data of a rules file (YAML/JSON,
see :mod:`shenggu.solutions.qa.rules_file`) or an API body.

A ruleset has a ``name``, a ``version`` and a list of ``rules``; each rule has an ``id`` (unique), a ``name``, a
``kind`` and a ``weight`` (its share of the score), plus the fields of its kind:

=================== =========================================================================================
kind                fields (defaults)
=================== =========================================================================================
required_phrase     phrases; who (agent); within (any | {first: N} | {last: N}); meaning_threshold (0.75, null:
                    words and sound only); sound_tolerance (0.125 syllable errors per syllable)
forbidden_phrase    phrases; who (agent); within (any); meaning_threshold (null: off; 0.85 is a cautious value);
                    sound_tolerance (0.125); ignore_negated (true: 不能保证收益 is not 保证收益)
max_silence         seconds: the longest allowed gap with nobody talking; include_edges (false: the time before
                    the first and after the last utterance does not count)
max_overtalk        seconds: the longest allowed span of both parties talking at once
speaking_rate       who (agent); min / max characters per second (at least one); per (call | utterance);
                    min_duration (2 s: shorter utterances are not rated on their own)
interruption        max_count (0): allowed times the agent starts while the customer talks; min_overlap (0.5 s)
ending_sentiment    last (30 s): the customer's utterances ending then; negative_below (0.4: mean P(positive)
                    under this fails)
tag_keywords        tags: {tag: [keywords]}; who (any). Tags do not score (weight 0).
=================== =========================================================================================

Every kind also takes ``applies_if``: words that make the rule apply (absent: it always applies). A phrase may
leave room for other words with ``…``: ``请问您是…本人`` is said by 请问您是账户本人吗 (its parts in order, at most
12 syllables apart, each found by words or sound).

Bad data raises :class:`RulesError` naming the file, the line (where known), the rule and the field."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, ClassVar, Literal

from shenggu.errors import InvalidOptionError
from shenggu.solutions.qa.record import Utterance

Who = Literal["agent", "customer", "any"]
WHO: tuple[str, ...] = Who.__args__  # type: ignore[attr-defined]


class RulesError(InvalidOptionError):
    """A rules file or body that cannot be used; the message names the place and the field."""

    code = "invalid_rules"


@dataclass(frozen=True)
class Window:
    """Where in the call an utterance must be: anywhere, starting within the first ``seconds``, or ending within
    the last ``seconds``."""

    anchor: Literal["any", "first", "last"] = "any"
    seconds: float = 0.0

    def contains(self, utterance: Utterance, duration: float) -> bool:
        """Whether ``utterance`` lies in this window of a call lasting ``duration`` seconds."""
        if self.anchor == "first":
            return utterance.start < self.seconds
        if self.anchor == "last":
            return utterance.end > duration - self.seconds
        return True

    def to_data(self) -> str | dict[str, float]:
        """The form a rules file writes: ``any`` or ``{first: N}`` / ``{last: N}``."""
        return "any" if self.anchor == "any" else {self.anchor: self.seconds}

    def describe(self) -> str:
        """Words for reasons: 'in the first 15 s', 'anywhere'."""
        return "anywhere" if self.anchor == "any" else f"in the {self.anchor} {self.seconds:g} s"


@dataclass(kw_only=True)
class Rule:
    """What every rule has. ``applies_if``: the rule judges only calls where someone says one of these words
    (by words or sound; 理财, 基金 for a risk disclosure); elsewhere it is not applicable and leaves the score
    alone. ``kind`` names the subclass in rules files; ``scoring`` is false for tag rules."""

    id: str
    name: str
    weight: float = 1.0
    applies_if: list[str] = field(default_factory=list)
    kind: ClassVar[str] = ""
    scoring: ClassVar[bool] = True

    def to_data(self) -> dict[str, Any]:
        """The rule as a rules file writes it (kind included)."""
        data: dict[str, Any] = {"id": self.id, "name": self.name, "kind": self.kind}
        for f in fields(self):
            if f.name not in data:
                value = getattr(self, f.name)
                data[f.name] = value.to_data() if isinstance(value, Window) else value
        return data


@dataclass(kw_only=True)
class RequiredPhrase(Rule):
    """One of ``phrases`` must be said by ``who`` within ``within`` (by words, by sound, or by meaning)."""

    kind: ClassVar[str] = "required_phrase"
    phrases: list[str]
    who: Who = "agent"
    within: Window = field(default_factory=Window)
    meaning_threshold: float | None = 0.75
    sound_tolerance: float = 0.125


@dataclass(kw_only=True)
class ForbiddenPhrase(Rule):
    """None of ``phrases`` may be said by ``who`` within ``within``."""

    kind: ClassVar[str] = "forbidden_phrase"
    phrases: list[str]
    who: Who = "agent"
    within: Window = field(default_factory=Window)
    meaning_threshold: float | None = None
    sound_tolerance: float = 0.125
    ignore_negated: bool = True


@dataclass(kw_only=True)
class MaxSilence(Rule):
    """No gap with nobody talking may last longer than ``seconds``."""

    kind: ClassVar[str] = "max_silence"
    seconds: float
    include_edges: bool = False


@dataclass(kw_only=True)
class MaxOvertalk(Rule):
    """Both parties may not talk at once for longer than ``seconds``."""

    kind: ClassVar[str] = "max_overtalk"
    seconds: float


@dataclass(kw_only=True)
class SpeakingRate(Rule):
    """``who``'s characters per second must stay within [``min``, ``max``], over the call or per utterance."""

    kind: ClassVar[str] = "speaking_rate"
    who: Who = "agent"
    min: float | None = None
    max: float | None = None
    per: Literal["call", "utterance"] = "call"
    min_duration: float = 2.0


@dataclass(kw_only=True)
class Interruption(Rule):
    """The agent may start talking while the customer still talks at most ``max_count`` times."""

    kind: ClassVar[str] = "interruption"
    max_count: int = 0
    min_overlap: float = 0.5


@dataclass(kw_only=True)
class EndingSentiment(Rule):
    """The customer's utterances ending in the last ``last`` seconds must not be negative on average."""

    kind: ClassVar[str] = "ending_sentiment"
    last: float = 30.0
    negative_below: float = 0.4


@dataclass(kw_only=True)
class TagKeywords(Rule):
    """Tags the call with each tag whose keywords ``who`` says. Does not score."""

    kind: ClassVar[str] = "tag_keywords"
    scoring: ClassVar[bool] = False
    tags: dict[str, list[str]]
    who: Who = "any"
    weight: float = 0.0


RULE_KINDS: dict[str, type[Rule]] = {
    cls.kind: cls
    for cls in (
        RequiredPhrase,
        ForbiddenPhrase,
        MaxSilence,
        MaxOvertalk,
        SpeakingRate,
        Interruption,
        EndingSentiment,
        TagKeywords,
    )
}


@dataclass
class Ruleset:
    """A named, versioned list of rules (ids unique)."""

    name: str
    version: str
    rules: list[Rule]
    description: str = ""

    @property
    def total_weight(self) -> float:
        """The weight of the scoring rules: the score's denominator."""
        return sum(r.weight for r in self.rules if r.scoring)

    def to_data(self) -> dict[str, Any]:
        """The ruleset as a rules file writes it: :func:`parse_ruleset` of this gives an equal ruleset."""
        return {
            "name": self.name,
            "version": self.version,
            "description": self.description,
            "rules": [r.to_data() for r in self.rules],
        }


class _Place:
    """Where a value sits, for error messages: the source, the line (where the loader recorded it), the path."""

    def __init__(self, source: str, path: str = "", line: int | None = None) -> None:
        self.source, self.path, self.line = source, path, line

    def child(self, container: Any, key: str | int, label: str | None = None) -> _Place:
        lines = getattr(container, "lines", None) or {}
        name = label or (f"{self.path}[{key}]" if isinstance(key, int) else f"{self.path}.{key}".lstrip("."))
        return _Place(self.source, name, lines.get(key, self.line))

    def error(self, message: str) -> RulesError:
        line = f", line {self.line}" if self.line is not None else ""
        path = f", {self.path}" if self.path else ""
        return RulesError(f"{self.source}{line}{path}: {message}")


def _number(value: Any, place: _Place, *, minimum: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise place.error(f"expected a number, got {value!r}")
    if value < minimum:
        raise place.error(f"must be at least {minimum:g}, got {value}")
    return float(value)


def _optional_number(value: Any, place: _Place) -> float | None:
    return None if value is None else _number(value, place)


def _share(value: Any, place: _Place) -> float:
    number = _number(value, place)
    if number > 1.0:
        raise place.error(f"must be between 0 and 1, got {value}")
    return number


def _optional_share(value: Any, place: _Place) -> float | None:
    return None if value is None else _share(value, place)


def _count(value: Any, place: _Place) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise place.error(f"expected a whole number ≥ 0, got {value!r}")
    return value


def _flag(value: Any, place: _Place) -> bool:
    if not isinstance(value, bool):
        raise place.error(f"expected true or false, got {value!r}")
    return value


def _text(value: Any, place: _Place) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise place.error(f"expected text, got {value!r}")
    text = str(value).strip()
    if not text:
        raise place.error("must not be empty")
    return text


def _texts(value: Any, place: _Place) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise place.error(f"expected a non-empty list of phrases, got {value!r}")
    return [_text(item, place.child(value, i)) for i, item in enumerate(value)]


def _version(value: Any, place: _Place) -> str:
    if isinstance(value, float):  # YAML reads 1.10 as the number 1.1
        raise place.error(f"write the version as text in quotes ('{value}'), so that it stays as written")
    return _text(value, place)


def _choice(options: tuple[str, ...]) -> Callable[[Any, _Place], str]:
    def parse(value: Any, place: _Place) -> str:
        if value not in options:
            raise place.error(f"expected one of {', '.join(options)}, got {value!r}")
        return value

    return parse


def _window(value: Any, place: _Place) -> Window:
    if value == "any":
        return Window()
    if isinstance(value, Mapping) and len(value) == 1:
        ((anchor, seconds),) = value.items()
        if anchor in ("first", "last"):
            return Window(anchor, _number(seconds, place.child(value, anchor)))
    raise place.error(f"expected any, {{first: N}} or {{last: N}} (seconds), got {value!r}")


def _tags(value: Any, place: _Place) -> dict[str, list[str]]:
    if not isinstance(value, Mapping) or not value:
        raise place.error(f"expected a mapping of tag → keywords, got {value!r}")
    return {_text(tag, place): _texts(words, place.child(value, tag)) for tag, words in value.items()}


# How each field of any rule kind is read (fields shared by several kinds mean the same thing in each).
_FIELD_PARSERS: dict[str, Callable[[Any, _Place], Any]] = {
    "id": _text,
    "name": _text,
    "weight": _number,
    "applies_if": lambda value, place: [] if value in (None, []) else _texts(value, place),
    "phrases": _texts,
    "who": _choice(WHO),
    "within": _window,
    "meaning_threshold": _optional_share,
    "sound_tolerance": _share,
    "ignore_negated": _flag,
    "seconds": _number,
    "include_edges": _flag,
    "min": _optional_number,
    "max": _optional_number,
    "per": _choice(("call", "utterance")),
    "min_duration": _number,
    "max_count": _count,
    "min_overlap": _number,
    "last": _number,
    "negative_below": _share,
    "tags": _tags,
}


def _fields_of(cls: type[Rule]) -> tuple[set[str], set[str]]:
    """All fields of a rule kind, and the required ones."""
    every = {f.name for f in fields(cls)}
    required = {f.name for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING}
    return every, required


def _unknown(key: Any, known: set[str], place: _Place) -> RulesError:
    close = difflib.get_close_matches(str(key), sorted(known), n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return place.error(f"unknown field '{key}'{hint}; this kind takes {', '.join(sorted(known))}")


def _rule(data: Any, place: _Place) -> Rule:
    if not isinstance(data, Mapping):
        raise place.error(f"a rule must be a mapping of fields, got {data!r}")
    if "id" in data and isinstance(data["id"], str):
        place = _Place(place.source, f"{place.path} (id '{data['id']}')", place.line)
    kind = data.get("kind")
    if kind not in RULE_KINDS:
        raise place.child(data, "kind", f"{place.path}.kind").error(
            f"expected a kind among {', '.join(RULE_KINDS)}, got {kind!r}"
        )
    cls = RULE_KINDS[kind]
    every, required = _fields_of(cls)
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key == "kind":
            continue
        field_place = place.child(data, key, f"{place.path}.{key}")
        if key not in every:
            raise _unknown(key, every, field_place)
        values[key] = _FIELD_PARSERS[key](value, field_place)
    missing = sorted(required - values.keys())
    if missing:
        raise place.error(f"{kind} needs field(s) {', '.join(missing)}")
    rule = cls(**values)
    _check_rule(rule, data, place)
    return rule


def _check_rule(rule: Rule, data: Any, place: _Place) -> None:
    """Constraints between fields, and on fields whose meaning depends on the kind."""
    if isinstance(rule, SpeakingRate):
        if rule.min is None and rule.max is None:
            raise place.error("speaking_rate needs min or max (characters per second)")
        if rule.min is not None and rule.max is not None and rule.min > rule.max:
            raise place.error(f"min ({rule.min:g}) is above max ({rule.max:g})")
    if isinstance(rule, TagKeywords) and rule.weight:
        raise place.child(data, "weight", f"{place.path}.weight").error("tag_keywords rules do not score: weight 0")


def parse_ruleset(data: Any, source: str = "rules") -> Ruleset:
    """A :class:`Ruleset` from the plain data of a rules file or an API body. ``source`` names it in errors.
    Raises :class:`RulesError` naming the line (when the data came from :mod:`rules_file`) and the field."""
    top = _Place(source, "", getattr(data, "line", None))
    if not isinstance(data, Mapping):
        got = "a list" if isinstance(data, list) else repr(data)[:40]
        raise top.error(f"a ruleset must be a mapping with name, version and rules, got {got}")
    allowed = {"name", "version", "description", "rules"}
    for key in data:
        if key not in allowed:
            raise _unknown(key, allowed, top.child(data, key))
    for key in ("name", "version", "rules"):
        if key not in data:
            raise top.error(f"missing '{key}'")
    rules_data = data["rules"]
    rules_place = top.child(data, "rules")
    if not isinstance(rules_data, list) or not rules_data:
        raise rules_place.error("expected a non-empty list of rules")
    rules = [_rule(item, rules_place.child(rules_data, i)) for i, item in enumerate(rules_data)]
    seen: set[str] = set()
    for i, rule in enumerate(rules):
        if rule.id in seen:
            raise rules_place.child(rules_data, i).error(f"duplicate rule id '{rule.id}'")
        seen.add(rule.id)
    description = data.get("description", "")
    return Ruleset(
        name=_text(data["name"], top.child(data, "name")),
        version=_version(data["version"], top.child(data, "version")),
        rules=rules,
        description=str(description or "").strip(),
    )
