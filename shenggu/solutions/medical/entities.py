"""Entity extraction from clinical text: lexicon first (longest match), then suffix rules for terms the lexicon
lacks (…炎, …癌, …切除术, …胶囊), then the patterns of :mod:`shenggu.solutions.medical.patterns` for values.

Body parts may lie inside a symptom (腹 in 腹痛: the symptom's site) but not inside a diagnosis, a drug or an
examination, whose names include their organ (肺癌, 胸部CT). Every entity is a span of the input text, so
nothing is extracted that the text does not say."""

from __future__ import annotations

import re
from collections.abc import Iterable

from shenggu.solutions.medical.lexicon import MedicalLexicon, medical_lexicon
from shenggu.solutions.medical.patterns import (
    CLAUSE_END,
    allergies,
    drug_details,
    duration_near,
    negated_at,
    result_after,
    vital_signs,
)
from shenggu.solutions.medical.record import Entity
from shenggu.text.script import is_han

# Suffixes that end names of diagnoses, procedures and drug forms the lexicon may not list.
_DIAGNOSIS_SUFFIXES = (
    "综合征", "综合症", "功能不全", "骨折", "结石", "感染", "梗死", "梗塞", "出血", "囊肿", "息肉", "溃疡",
    "增生", "衰竭", "贫血", "积液", "狭窄", "脓肿", "硬化", "血症", "中毒", "失常", "紊乱", "白血病", "淋巴瘤",
    "炎", "癌", "瘤", "病",
)  # fmt: skip
_PROCEDURE_SUFFIXES = ("术",)
_DRUG_FORMS = (
    "缓释片", "肠溶片", "分散片", "咀嚼片", "胶囊", "颗粒", "注射液", "口服液", "糖浆", "滴眼液", "软膏", "乳膏",
    "喷雾剂", "混悬液", "气雾剂", "栓", "片",
)  # fmt: skip
# A name the suffix rules grow leftwards stops at these (function words and verbs around names).
_STOP = frozenset("的了是有无未因于在行示和及或与并伴为呈见后前时患诊断考虑疑似可能等予给用服吃打做查经其该此")
# After these, 病/炎/癌 does not end a name (病史, 病人, 病房, 病程, 病情, 病灶, 病理, 病毒, 病变, 癌症...).
_NOT_AN_END = frozenset("史人房程情区灶理毒菌变号床历例种因症细")
_MAX_NAME = 12
# Modifiers a listed diagnosis takes in front (急性上呼吸道感染, 双侧肺炎, 小儿消化不良).
_DIAGNOSIS_MODIFIER = re.compile(
    r"(?:急性|慢性|亚急性|原发性|继发性|复发性|反复|轻度|中度|重度|重症|小儿|新生儿|先天性|左侧|右侧|双侧|左|右|双)+$"
)
_LATIN = re.compile(r"[A-Za-z]")

# Entity types that may contain a body part, and those that exclude one.
_HOSTS_BODY_PART = frozenset({"symptom"})


class _Matcher:
    """Longest-match lookup of lexicon terms (Latin letters matched case-insensitively)."""

    def __init__(self, terms: dict[str, str]) -> None:
        self._terms = {t.lower(): kind for t, kind in terms.items()}
        self._longest = max(map(len, self._terms), default=0)

    def longest_at(self, text: str, start: int) -> tuple[int, str] | None:
        """``(end, type)`` of the longest term at ``start``; a term ending in 病 before 史 (高血压病史) gives way
        to a shorter one (高血压) when there is one."""
        hits = self.all_at(text, start)
        for end, kind in hits:
            if not (text[end - 1] == "病" and end < len(text) and text[end] in _NOT_AN_END):
                return end, kind
        return hits[0] if hits else None

    def all_at(self, text: str, start: int) -> list[tuple[int, str]]:
        """``(end, type)`` of every term at ``start``, longest first."""
        folded = text[start : start + self._longest].lower()
        return [
            (start + length, kind)
            for length in range(len(folded), 0, -1)
            if (kind := self._terms.get(folded[:length])) is not None and _latin_bounded(text, start, start + length)
        ]


def _latin_bounded(text: str, start: int, end: int) -> bool:
    # CT must not match inside CTA or ACT.
    if _LATIN.match(text[start]) and start > 0 and _LATIN.match(text[start - 1]):
        return False
    return not (_LATIN.match(text[end - 1]) and end < len(text) and _LATIN.match(text[end]))


def _matchers(lexicon: MedicalLexicon) -> tuple[_Matcher, _Matcher]:
    named = {t: k for t, k in lexicon.types.items() if k not in ("body_part", "allergen")}
    anatomy = {t: k for t, k in lexicon.types.items() if k == "body_part"}
    return _Matcher(named), _Matcher(anatomy)


def _grow_left(text: str, start: int, limit: int) -> int:
    """Where a name ending at ``start`` + suffix begins: back over Han characters, letters and digits (2型) up to a
    stop character, a clause end or ``limit`` (the end of the previous entity)."""
    begin = start
    while begin > limit and start - begin < _MAX_NAME:
        ch = text[begin - 1]
        if ch in _STOP or not (is_han(ch) or ch.isalnum()):
            break
        begin -= 1
    return begin


def _suffix_rule(text: str, pos: int, limit: int) -> tuple[int, int, str] | None:
    """A diagnosis, procedure or drug name ending with a known suffix at ``pos``: ``(start, end, type)``."""
    for suffixes, kind, shortest in (
        (_DIAGNOSIS_SUFFIXES, "diagnosis", 3),
        (_PROCEDURE_SUFFIXES, "procedure", 3),
        (_DRUG_FORMS, "drug", 4),
    ):
        for suffix in suffixes:
            if not text.startswith(suffix, pos):
                continue
            end = pos + len(suffix)
            if end < len(text) and text[end] in _NOT_AN_END:
                continue
            begin = _grow_left(text, pos, limit)
            if end - begin >= shortest and not text[begin].isdigit():
                return begin, end, kind
    return None


def _named_spans(text: str, matcher: _Matcher) -> list[tuple[int, int, str]]:
    """Lexicon terms (longest first) and suffix-rule names, left to right, not overlapping."""
    spans: list[tuple[int, int, str]] = []
    pos = limit = 0
    while pos < len(text):
        hit = matcher.longest_at(text, pos)
        if hit is not None:
            end, kind = hit
            if kind == "drug":  # 阿莫西林 + 胶囊: the form belongs to the drug's name
                end += next((len(f) for f in _DRUG_FORMS if text.startswith(f, end)), 0)
            # A lexicon term followed by a diagnosis suffix is part of a longer name (肺 + 炎 handled by the
            # lexicon; 支气管 + 哮喘 by the next match): only a suffix rule that ends later replaces it.
            rule = None
            if kind in ("body_part", "symptom"):
                rule = _suffix_rule(text, end, pos)
            elif kind == "diagnosis" and (form := _suffix_rule(text, end, pos)) and form[2] == "drug":
                rule = form  # 感冒 + 颗粒: a medicine named after what it treats
            if rule is not None:
                spans.append(rule)
                pos = limit = rule[1]
                continue
            start = pos
            if kind == "diagnosis" and (modifier := _DIAGNOSIS_MODIFIER.search(text, limit, pos)):
                start = modifier.start()
                while spans and spans[-1][1] > start:
                    spans.pop()
            spans.append((start, end, kind))
            pos = limit = end
            continue
        rule = _suffix_rule(text, pos, limit)
        if rule is not None:
            # The name grown leftwards may swallow the previous span only if that was a body part or symptom.
            while spans and spans[-1][1] > rule[0]:
                spans.pop()
            spans.append(rule)
            pos = limit = rule[1]
            continue
        if text[pos] in CLAUSE_END:
            limit = pos + 1
        pos += 1
    return spans


def _body_parts(text: str, matcher: _Matcher, hosts: Iterable[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Body parts outside every entity except those that may hold one (a symptom's site)."""
    blocked = [(s, e) for s, e, kind in hosts if kind not in _HOSTS_BODY_PART]
    found = []
    pos = 0
    while pos < len(text):
        inside = next((e for s, e in blocked if s <= pos < e), None)
        if inside is not None:
            pos = inside
            continue
        hit = matcher.longest_at(text, pos)
        if hit is not None and not any(s < hit[0] and pos < e for s, e in blocked):
            found.append((pos, hit[0], "body_part"))
            pos = hit[0]
        else:
            pos += 1
    return found


def _site_before(text: str, end: int, anatomy: _Matcher) -> int | None:
    """Start of a body part (with an optional 全 before and 部 after it) that ends at ``end``, if one does."""
    stem_end = end - 1 if end > 0 and text[end - 1] == "部" else end
    for length in range(min(6, stem_end), 0, -1):
        begin = stem_end - length
        if anatomy.longest_at(text[begin:stem_end], 0) == (length, "body_part"):
            return begin - 1 if begin > 0 and text[begin - 1] == "全" else begin
    return None


def _examination_site(text: str, start: int, anatomy: _Matcher) -> int:
    """Grow an examination leftwards over the body parts it names (胸部+全腹CT, 腹部B超, 头颅MRI)."""
    begin = start
    site = _site_before(text, begin, anatomy)
    while site is not None:
        begin = site
        if begin == 0 or text[begin - 1] not in "+、":
            break
        site = _site_before(text, begin - 1, anatomy)
    return begin


def extract_entities(text: str, lexicon: MedicalLexicon | None = None) -> list[Entity]:
    """Typed entities of ``text``, sorted by position, with negation, values and attributes filled in."""
    lexicon = lexicon or medical_lexicon()
    named, anatomy = _matchers(lexicon)
    spans = _named_spans(text, named)
    spans = [(_examination_site(text, s, anatomy) if k == "examination" else s, e, k) for s, e, k in spans]
    entities = [_entity(text, s, e, k, lexicon) for s, e, k in spans]
    _attach_drug_details(text, entities)
    entities += [Entity("body_part", text[s:e], s, e) for s, e, _ in _body_parts(text, anatomy, spans)]
    entities += vital_signs(text)
    allergens = frozenset(lexicon.terms("allergen")) | frozenset(lexicon.terms("drug"))
    found_allergies = allergies(text, allergens)
    # A drug named as an allergy's substance is not a prescription.
    entities = [e for e in entities if not (e.type == "drug" and _inside(e, found_allergies))]
    entities += found_allergies
    return sorted(entities, key=lambda e: (e.start, -e.end))


def _inside(entity: Entity, others: list[Entity]) -> bool:
    return any(o.start <= entity.start and entity.end <= o.end for o in others)


def _entity(text: str, start: int, end: int, kind: str, lexicon: MedicalLexicon) -> Entity:
    name = text[start:end]
    entity = Entity(kind, name, start, end, negated=negated_at(text, start))
    if kind == "diagnosis":
        entity.code = _icd10(name, lexicon)
    elif kind == "symptom" and (duration := duration_near(text, start, end)):
        entity.attributes["duration"] = duration
    elif kind in ("examination", "lab_test") and (result := result_after(text, end)):
        entity.attributes["result"] = result
    return entity


def _icd10(name: str, lexicon: MedicalLexicon) -> str:
    """The code of the diagnosis, or of the longest listed diagnosis the name ends with (急性上呼吸道感染 →
    上呼吸道感染's code); empty when none."""
    for i in range(len(name) - 1):
        if code := lexicon.icd10.get(name[i:]):
            return code
    return ""


def _attach_drug_details(text: str, entities: list[Entity]) -> None:
    drugs = [e for e in entities if e.type == "drug"]
    for drug, following in zip(drugs, [*drugs[1:], None], strict=False):
        stop = min([i for c in "。；;\n" if (i := text.find(c, drug.end)) >= 0] or [len(text)])
        if following is not None:
            stop = min(stop, following.start)
        drug.attributes.update(drug_details(_order_tail(text[drug.end : stop])))


def _order_tail(tail: str) -> str:
    """The part of the text after a drug's name that can still be its order: the rest of its own clause, and the
    clauses after it as long as each says how to take it (阿莫西林，一次1粒，每日3次). A clause that goes on
    about something else (口服替吉奥时出现皮疹，…) ends it, so a later drug's dose is not read as this one's."""
    clauses = re.split(r"(?<=[，,])", tail)
    if clauses[0].strip("，, ") and not drug_details(clauses[0]):
        return clauses[0]
    kept = [clauses[0]]
    for clause in clauses[1:]:
        if not drug_details(clause):
            break
        kept.append(clause)
    return "".join(kept)
