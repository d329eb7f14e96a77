"""Scoring for ``shenggu bench medical``: shenggu's entity types mapped to the evaluation sets', entity matching
and F1 (overlapping spans, exact spans, or contained texts), character ROUGE-L of report sections, locating a
language model's entity texts in the input, and the checks that no value was invented or misread.

Matching is a maximum one-to-one matching (each gold and each predicted entity matched at most once) between
entities of the same type, so nested or repeated mentions are never counted twice.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from shenggu.solutions.medical.entities import extract_entities
from shenggu.solutions.medical.grounding import ungrounded_values
from shenggu.solutions.medical.numbers import normalize_clinical
from shenggu.solutions.medical.patterns import canonical_unit
from shenggu.solutions.medical.record import Entity, MedicalRecord
from shenggu.text.script import is_punctuation

CCKS, CMEEE = "ccks2019", "cmeee-v2"
# Each set's entity types, in the order the sets' papers list them.
SET_TYPES: dict[str, tuple[str, ...]] = {
    CCKS: ("疾病和诊断", "影像检查", "实验室检验", "手术", "药物", "解剖部位"),
    CMEEE: ("dis", "sym", "dru", "equ", "pro", "bod", "ite", "mic", "dep"),
}
# What each set's types are, for the plain prompt of the language-model baseline (CMeEE's are codes).
SET_TYPE_NAMES: dict[str, dict[str, str]] = {
    CCKS: {t: t for t in SET_TYPES[CCKS]},
    CMEEE: {
        "dis": "疾病", "sym": "临床表现", "dru": "药物", "equ": "医疗设备", "pro": "医疗程序", "bod": "身体部位",
        "ite": "医学检验项目", "mic": "微生物类", "dep": "科室",
    },
}  # fmt: skip
# shenggu's entity type → the set's. Types not listed are not scored (neither hits nor false positives):
# symptom, vital_sign and allergy for CCKS (it has no such types); vital_sign and allergy for CMeEE.
TYPE_MAP: dict[str, dict[str, str]] = {
    CCKS: {
        "diagnosis": "疾病和诊断", "examination": "影像检查", "lab_test": "实验室检验", "procedure": "手术",
        "drug": "药物", "body_part": "解剖部位",
    },
    CMEEE: {
        "diagnosis": "dis", "symptom": "sym", "drug": "dru", "procedure": "pro", "body_part": "bod",
        "lab_test": "ite", "examination": "ite",
    },
}  # fmt: skip
# ASCII names of the set types for plot labels (the plots' font has no CJK glyphs).
TYPE_LABELS = {
    "疾病和诊断": "ccks:disease", "影像检查": "ccks:imaging", "实验室检验": "ccks:lab", "手术": "ccks:surgery",
    "药物": "ccks:drug", "解剖部位": "ccks:anatomy",
}  # fmt: skip


@dataclass(frozen=True)
class Span:
    """An entity in a set's type system: ``start``/``end`` are offsets into the item's text (end exclusive), -1
    for a predicted text that was not found in the input (it can match nothing)."""

    type: str
    text: str
    start: int
    end: int

    @property
    def located(self) -> bool:
        """Whether the span has offsets in the input."""
        return self.start >= 0


def mapped_spans(entities: Iterable[Entity], source: str) -> list[Span]:
    """Our entities as spans of ``source``'s types; entities of types the set does not have are left out."""
    mapping = TYPE_MAP[source]
    return [Span(mapping[e.type], e.text, e.start, e.end) for e in entities if e.type in mapping]


def overlapping(gold: Span, predicted: Span) -> bool:
    """Same type and the spans share at least one character."""
    return predicted.located and predicted.start < gold.end and gold.start < predicted.end


def same_span(gold: Span, predicted: Span) -> bool:
    """Same type, same start and end."""
    return predicted.located and (predicted.start, predicted.end) == (gold.start, gold.end)


def containing_text(gold: Span, predicted: Span) -> bool:
    """Same type and one text contains the other (for recognized speech, whose offsets differ from the text's)."""
    return bool(predicted.text and gold.text) and (gold.text in predicted.text or predicted.text in gold.text)


Compatible = Callable[[Span, Span], bool]


def max_matching(gold: Sequence[Span], predicted: Sequence[Span], compatible: Compatible) -> int:
    """Size of a maximum one-to-one matching of ``gold`` and ``predicted`` entities whose pairs are ``compatible``
    (and of the same type): augmenting paths (Kuhn's algorithm), exact for these small lists."""
    edges = [[j for j, p in enumerate(predicted) if p.type == g.type and compatible(g, p)] for g in gold]
    owner: dict[int, int] = {}  # predicted index → gold index

    def augment(i: int, seen: set[int]) -> bool:
        for j in edges[i]:
            if j in seen:
                continue
            seen.add(j)
            if j not in owner or augment(owner[j], seen):
                owner[j] = i
                return True
        return False

    return sum(augment(i, set()) for i in range(len(gold)))


@dataclass
class Counts:
    """True positives, false positives and false negatives (summed over items for micro scores)."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)

    @property
    def precision(self) -> float | None:
        """tp / predicted (None without predictions)."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        """tp / gold (None without gold entities)."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    @property
    def f1(self) -> float | None:
        """2tp / (2tp + fp + fn): None when there is neither a gold nor a predicted entity."""
        denominator = 2 * self.tp + self.fp + self.fn
        return 2 * self.tp / denominator if denominator else None


def entity_counts(gold: Sequence[Span], predicted: Sequence[Span], compatible: Compatible) -> dict[str, Counts]:
    """Counts by set type (a false positive counts under its predicted type)."""
    counts: dict[str, Counts] = {}
    for type_ in dict.fromkeys([g.type for g in gold] + [p.type for p in predicted]):
        gold_t = [g for g in gold if g.type == type_]
        predicted_t = [p for p in predicted if p.type == type_]
        tp = max_matching(gold_t, predicted_t, compatible)
        counts[type_] = Counts(tp, len(predicted_t) - tp, len(gold_t) - tp)
    return counts


def sum_counts(counts: Iterable[Counts]) -> Counts:
    """The counts summed."""
    result = Counts()
    for c in counts:
        result = result + c
    return result


def total_counts(by_type: Iterable[Mapping[str, Counts]]) -> Counts:
    """All types of all items summed."""
    return sum_counts(c for counts in by_type for c in counts.values())


def counts_by_type(by_type: Iterable[Mapping[str, Counts]]) -> dict[str, Counts]:
    """Counts summed over items, per type."""
    result: dict[str, Counts] = {}
    for counts in by_type:
        for type_, c in counts.items():
            result[type_] = result.get(type_, Counts()) + c
    return result


def locate_texts(text: str, returned: Sequence[tuple[str, str]]) -> list[Span]:
    """Spans of a language model's ``(type, text)`` answers in ``text``: each answer takes the first occurrence
    of its text that no earlier answer of the same type and text took (an entity listed twice takes the first
    and the second occurrence). An answer whose text is not in the input, or whose occurrences are all taken,
    gets no offsets (``start`` = -1): it can match nothing, so it is a false positive. Empty texts are dropped."""
    taken: dict[tuple[str, str], int] = {}  # (type, text) → where the search for the next occurrence starts
    spans = []
    for type_, said in returned:
        said = said.strip()
        if not said:
            continue
        key = (type_, said)
        start = text.find(said, taken.get(key, 0))
        if start < 0:
            spans.append(Span(type_, said, -1, -1))
            taken[key] = len(text) + 1
            continue
        spans.append(Span(type_, said, start, start + len(said)))
        taken[key] = start + 1
    return spans


def rounded(value: float | None, digits: int = 4) -> float | None:
    """``value`` rounded for the summary (None stays None)."""
    return round(value, digits) if value is not None else None


# -- reports ------------------------------------------------------------------------------------------------

REPORT_SECTIONS: tuple[str, ...] = ("主诉", "现病史", "辅助检查", "既往史", "诊断", "建议")
# Our record's sections that make each reference section. 过敏史 joins 既往史: an outpatient record without a
# separate allergy field writes the allergy history into 既往史 (病历书写基本规范), as these reports do.
OUR_SECTIONS: dict[str, tuple[str, ...]] = {
    "主诉": ("主诉",),
    "现病史": ("现病史",),
    "辅助检查": ("辅助检查",),
    "既往史": ("既往史", "过敏史"),
    "诊断": ("初步诊断",),
    "建议": ("处理意见", "医嘱"),
}
SECTION_LABELS = {
    "主诉": "complaint", "现病史": "present", "辅助检查": "tests", "既往史": "history", "诊断": "diagnosis",
    "建议": "advice",
}  # fmt: skip
# What IMCS-MRG's doctors write in a section the dialogue says nothing about: scored as an empty section, so
# that writing nothing there is right (and a system writing the placeholder is not rewarded for its wording).
PLACEHOLDERS = frozenset({"暂缺", "暂无", "不详", "无"})


def record_sections(record: MedicalRecord) -> dict[str, str]:
    """Our drafted record as the reference's six sections (see ``OUR_SECTIONS``)."""
    texts = {s.name: s.text for s in record.sections}
    return {ref: "".join(texts.get(name, "") for name in ours) for ref, ours in OUR_SECTIONS.items()}


def _letters(text: str) -> str:
    """The text without punctuation and white space (what ROUGE-L compares)."""
    return "".join(ch for ch in text if not (is_punctuation(ch) or ch.isspace()))


def _lcs(a: str, b: str) -> int:
    """Length of the longest common subsequence (one row of the table at a time)."""
    if len(a) < len(b):
        a, b = b, a
    row = [0] * (len(b) + 1)
    for ch in a:
        diagonal = 0
        for j, other in enumerate(b, 1):
            diagonal, row[j] = row[j], diagonal + 1 if ch == other else max(row[j], row[j - 1])
    return row[-1]


def rouge_l(reference: str, hypothesis: str, placeholders: frozenset[str] = frozenset()) -> float:
    """Character ROUGE-L F1 of ``hypothesis`` against ``reference`` after removing punctuation and spaces; a
    text that is (after that) one of ``placeholders`` counts as empty. Two empty texts score 1, one empty 0."""
    ref, hyp = _letters(reference), _letters(hypothesis)
    ref, hyp = ("" if ref in placeholders else ref), ("" if hyp in placeholders else hyp)
    if not ref or not hyp:
        return 1.0 if ref == hyp else 0.0
    lcs = _lcs(ref, hyp)
    return 2 * lcs / (len(ref) + len(hyp))  # = 2PR/(P+R) with P = lcs/len(hyp), R = lcs/len(ref)


def section_scores(
    reference: Mapping[str, str], hypothesis: Mapping[str, str], placeholders: frozenset[str] = PLACEHOLDERS
) -> dict[str, float]:
    """ROUGE-L of each of the six reference sections (a section missing on either side is empty)."""
    return {s: rouge_l(reference.get(s, ""), hypothesis.get(s, ""), placeholders) for s in REPORT_SECTIONS}


# -- invented values ----------------------------------------------------------------------------------------

_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_NEGATION_MARK = "否定："  # how ungrounded_values names a negation the transcript does not hold
# A list's numbering (1. 2、 3）) at the start of a line or sentence: a position, not a value.
_ENUMERATOR = re.compile(r"(?:^|(?<=[。；;！!？?\s]))\d{1,2}[.、．)）](?!\d)", re.MULTILINE)


def entity_claims(entity: Entity) -> list[str]:
    """What an entity states beyond its span: its text, value with unit, and each attribute (a dose with its
    unit, so the unit is read as one)."""
    attributes = dict(entity.attributes)
    dose = attributes.pop("dose", "") + attributes.pop("unit", "") if "dose" in attributes else ""
    return [c for c in (entity.text, entity.value + entity.unit, dose, *attributes.values()) if c]


def checked_values(outputs: Sequence[str], source: str) -> tuple[list[str], list[str]]:
    """``(values, invented)``: the numbers, units and drug names of ``outputs`` (each distinct value once per
    call), and those of them ``source`` does not hold, as ``grounding.ungrounded_values`` reads them (both sides
    in clinical written form). Diagnoses and negations that ungrounded_values also reports are not counted, nor
    is a list's numbering (1. 2、)."""
    text = "；".join(_ENUMERATOR.sub("", o) for o in outputs if o)
    if not text:
        return [], []
    entities = extract_entities(normalize_clinical(text))
    drugs = {e.text for e in entities if e.type == "drug"}
    others = {e.text for e in entities if e.type != "drug"}

    def counted(values: list[str]) -> list[str]:
        # ungrounded_values lists numbers, units, then names and negations: keep numbers, units, drugs.
        return [
            v for v in values if _NUMBER.fullmatch(v) or v in drugs or not (v.startswith(_NEGATION_MARK) or v in others)
        ]

    values = counted(ungrounded_values(text, ""))
    return list(dict.fromkeys(values)), list(dict.fromkeys(counted(ungrounded_values(text, source))))


# -- vitals and doses ---------------------------------------------------------------------------------------

_MEASURE = re.compile(r"\d+(?:\.\d+)?(?:/\d+(?:\.\d+)?)?")
# Written forms a vital sign's unit may take in the text (the entity gives the record's form).
_UNIT_SPELLINGS = {"℃": ("℃", "°C", "度")}


def vital_sign_exact(text: str, entity: Entity) -> bool:
    """Whether a vital sign's value and unit are what ``text`` writes at the entity's offsets: the span is the
    entity's text, its last number (120/80 as one) is the value, and what follows that number in the span is a
    written form of the unit (nothing when the unit is empty)."""
    span = text[entity.start : entity.end]
    measures = list(_MEASURE.finditer(span))
    if span != entity.text or not measures:
        return False
    last = measures[-1]
    written = span[last.end() :].strip()
    unit_ok = written in _UNIT_SPELLINGS.get(entity.unit, (entity.unit,)) if entity.unit else not written
    return last.group(0) == entity.value and unit_ok


# A written quantity: a number and the unit-like word after it (letters, or a count word of doses).
_QUANTITY = re.compile(r"(?<![\d.])(\d+(?:\.\d+)?)\s*([A-Za-zμ]+|万单位|[片粒袋支滴喷])")
_CLAUSE_ENDS = "，,。；;\n"


def dose_exact(text: str, drug: Entity) -> bool:
    """Whether a drug's dose and unit are the text's own: the first quantity written after the drug's name in its
    clause (up to the next comma, semicolon or full stop; a number followed by 次, 天… is no quantity) has the
    dose as its number and starts with the unit in the form records write it (300MGIVGTT: 300, MG = mg;
    ``patterns.canonical_unit``). A dose taken from another drug's clause, or a number cut out of a longer one
    (5 from 0.5), is not exact."""
    dose, unit = drug.attributes.get("dose", ""), drug.attributes.get("unit", "")
    end = min([i for c in _CLAUSE_ENDS if (i := text.find(c, drug.end)) >= 0] or [len(text)])
    written = _QUANTITY.search(text, drug.end, end)
    if not (dose and unit and written and written.group(1) == dose):
        return False
    word = written.group(2)  # the unit may run into the route or frequency: some start of it is the unit
    return any(canonical_unit(word[:k]) == unit for k in range(1, len(word) + 1))


def vital_dose_checks(text: str, entities: Sequence[Entity]) -> list[dict]:
    """One row per vital sign and per drug with a dose among ``entities`` (extracted from ``text``): what was
    read and whether it is exact; and a ``dose_unread`` row (``exact`` None) per drug without a dose whose
    clause writes a quantity right after its name (a dose the extraction did not read)."""
    rows = []
    for e in entities:
        if e.type == "vital_sign":
            read = e.value + e.unit
            rows.append({"kind": "vital_sign", "text": e.text, "read": read, "exact": vital_sign_exact(text, e)})
        elif e.type == "drug" and "dose" in e.attributes:
            read = e.attributes["dose"] + e.attributes.get("unit", "")
            rows.append({"kind": "dose", "text": e.text, "read": read, "exact": dose_exact(text, e)})
        elif e.type == "drug" and (written := _QUANTITY.match(text, e.end)):
            rows.append({"kind": "dose_unread", "text": e.text, "read": written.group(0), "exact": None})
    return rows
