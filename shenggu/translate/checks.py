"""Self-checks of a machine translation: which facts of the source did not survive into the draft.

A small local model drafts the translations and is sometimes dangerously wrong (a 0.5B model turned
amoxicillin into aspirin); in a court or a hospital a wrong number is worse than no translation. So every draft
is compared with its source fact by fact (:mod:`shenggu.translate.facts`):

- numbers with their units, dates, times and weekdays must all be there, with the same values: 5万 = 50,000
  = 50 thousand, 2023年3月5日 = 5 March 2023, 下午3点 = 3 pm = 15:00, 500毫克 = 0.5 g pass; a different value,
  a missing or an extra number, or a changed unit (5 kg → 5 g) fail;
- every drug of the source must be there, and no other drug (:mod:`shenggu.translate.drugs`);
- Latin-script names and codes of a Chinese source (G101, iPhone, WHO), and codes of an English one, must
  appear unchanged;
- glossary terms: a source term present → its target term must be in the translation.

Each :class:`Problem` names what is missing or changed in one readable line; :func:`corrective_hint` turns
them into an instruction for a retry prompt. Weak facts (1, "a", "first", "half", "noon") count only when
they match: correct translations drop and add them too often to require them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from shenggu.translate.facts import Clock, Fact, extract_facts, same_quantity

_DIRECTIONS = {"zh-en": ("zh", "en"), "en-zh": ("en", "zh")}
_VALUE_KINDS = ("number", "date", "time", "weekday")


@dataclass(frozen=True)
class Problem:
    """One fact of the source the translation lost or changed: its kind (number, unit, date, time, weekday,
    drug, latin, glossary) and a readable line, e.g. "number 23 (二十三) missing"."""

    kind: str
    detail: str

    def __str__(self) -> str:
        return self.detail


def check_translation(
    source: str, target: str, direction: str, glossary: Mapping[str, str] | None = None
) -> list[Problem]:
    """What the ``target`` translation of ``source`` lost or changed; an empty list means it passes.

    ``direction`` is ``"zh-en"`` or ``"en-zh"``; ``glossary`` maps source terms to the target terms they must
    be translated as.
    """
    if direction not in _DIRECTIONS:
        raise ValueError(f"direction must be 'zh-en' or 'en-zh', not {direction!r}")
    source_language, target_language = _DIRECTIONS[direction]
    source_facts = extract_facts(source, source_language)
    target_facts = extract_facts(target, target_language)
    return [
        *_compare_values(
            [f for f in source_facts if f.kind in _VALUE_KINDS], [f for f in target_facts if f.kind in _VALUE_KINDS]
        ),
        *_compare_drugs([f for f in source_facts if f.kind == "drug"], [f for f in target_facts if f.kind == "drug"]),
        *_check_latin([f for f in source_facts if f.kind == "latin"], target),
        *_check_glossary(source, target, glossary or {}),
    ]


def corrective_hint(problems: Sequence[Problem]) -> str:
    """One instruction for a retry prompt that says what to fix; empty when there is nothing to fix."""
    if not problems:
        return ""
    listed = "; ".join(problem.detail for problem in problems)
    return (
        f"It did not keep these facts of the source: {listed}. Translate the source again and keep every number, "
        "unit, amount, date, time, drug name, name and code exactly as the source states them, using the "
        "required glossary terms."
    )


# --------------------------------------------------------------------------------------------------------
# Numbers, dates, times, weekdays
# --------------------------------------------------------------------------------------------------------


def _clock_as_number(a: Fact, b: Fact) -> bool:
    """三点 read as 3 o'clock on one side may be "three points" or "at 3" on the other."""
    clock, number = (a.value, b) if isinstance(a.value, Clock) else (b.value, a)
    if not isinstance(clock, Clock) or number.kind != "number" or number.unit is not None:
        return False
    return clock.minute == 0 and number.value in (clock.hour, clock.hour % 12 or 12)


def _matches_at(tier: int) -> Callable[[Fact, Fact], bool]:
    """Matching rules, strictest first, so that a looser rule never takes a pair a stricter one needs:
    0 same value and unit (or kind), 1 same value neither with a unit, 2 same value one without a unit,
    3 a bare clock hour against a bare number."""

    def matches(a: Fact, b: Fact) -> bool:
        if a.kind != b.kind:
            return tier == 3 and _clock_as_number(a, b)
        if a.kind == "number":
            units_stated = (a.unit is not None) + (b.unit is not None)
            return tier < 3 and units_stated == (2, 0, 1)[tier] and same_quantity(a, b)
        if tier != 0:
            return False
        if isinstance(a.value, Clock) and isinstance(b.value, Clock):
            return a.value.same(b.value)
        return a.value == b.value

    return matches


def _pair_off(source: list[Fact], target: list[Fact], matches: Callable[[Fact, Fact], bool]) -> list[tuple[Fact, Fact]]:
    """Pairs matching facts in order of appearance and removes them from both lists."""
    pairs = []
    for fact in list(source):
        other = next((t for t in target if matches(fact, t)), None)
        if other is not None:
            source.remove(fact)
            target.remove(other)
            pairs.append((fact, other))
    return pairs


def _same_value_other_unit(a: Fact, b: Fact) -> bool:
    return a.kind == b.kind == "number" and a.unit is not None and b.unit is not None and a.value == b.value


def _show(fact: Fact) -> str:
    """A fact as its value and its words in the text, 500 mg (500毫克), or the value alone if they agree."""
    value = fact.describe()
    return value if fact.surface.casefold() == value.casefold() else f"{value} ({fact.surface})"


def _compare_values(source: list[Fact], target: list[Fact]) -> list[Problem]:
    source, target = list(source), list(target)
    for tier in range(4):
        _pair_off(source, target, _matches_at(tier))
    problems = [
        Problem("unit", f"unit changed: {_show(a)} became {_show(b)}")
        for a, b in _pair_off(source, target, _same_value_other_unit)
    ]
    for kind in _VALUE_KINDS:
        lost = [f for f in source if f.kind == kind and not f.weak]
        added = [f for f in target if f.kind == kind and not f.weak]
        # A lost and an added fact became one another when they share a unit (23岁 → 32-year-old), or when
        # as many were lost as added; otherwise each is reported on its own.
        changed = _pair_off(lost, added, lambda a, b: a.unit is not None and a.unit == b.unit)
        if len(lost) == len(added):
            changed += list(zip(lost, added, strict=True))
            lost, added = [], []
        problems += [Problem(kind, f"{kind} {_show(a)} became {_show(b)}") for a, b in changed]
        problems += [Problem(kind, f"{kind} {_show(f)} missing") for f in lost]
        problems += [Problem(kind, f"{kind} {_show(f)} added, not in the source") for f in added]
    return problems


# --------------------------------------------------------------------------------------------------------
# Drugs, names and codes, glossary
# --------------------------------------------------------------------------------------------------------


def _compare_drugs(source: list[Fact], target: list[Fact]) -> list[Problem]:
    in_source = {f.value for f in source}
    in_target = {f.value for f in target}
    strangers = list({f.value: f for f in target if f.value not in in_source}.values())
    problems = []
    for fact in {f.value: f for f in source}.values():
        if fact.value in in_target:
            continue
        if strangers:
            other = strangers.pop(0)
            problems.append(Problem("drug", f"drug {_show(fact)} became {other.value}"))
        else:
            problems.append(Problem("drug", f"drug {_show(fact)} missing"))
    problems += [Problem("drug", f"drug {_show(f)} added, not in the source") for f in strangers]
    return problems


def _check_latin(source: list[Fact], target: str) -> list[Problem]:
    problems = []
    for word in dict.fromkeys(str(f.value) for f in source):
        # whole word, case as written: G101 is not G1010, WHO is not "who"
        if not re.search(rf"(?<![A-Za-z0-9]){re.escape(word)}(?![A-Za-z0-9])", target):
            problems.append(Problem("latin", f"'{word}' missing: names and codes must stay as written"))
    return problems


def _has_term(text: str, term: str) -> bool:
    """Whether ``text`` uses ``term``: English terms case-insensitively from a word start ("plaintiffs" uses
    "plaintiff", "complaint" does not use "plain"), Chinese terms as written."""
    if term.isascii():
        return re.search(rf"(?<![A-Za-z]){re.escape(term)}", text, re.IGNORECASE) is not None
    return term in text


def _check_glossary(source: str, target: str, glossary: Mapping[str, str]) -> list[Problem]:
    return [
        Problem("glossary", f"glossary: {term} must be translated as '{required}'")
        for term, required in glossary.items()
        if term.strip() and _has_term(source, term) and not _has_term(target, required)
    ]


__all__ = ["Problem", "check_translation", "corrective_hint"]
