"""Regular-expression rules for what a lexicon cannot list: vital signs, a drug's dose/route/frequency/duration,
allergies, a symptom's duration, an examination's result, and negation scopes. They read the clinical written
form of :func:`shenggu.solutions.medical.numbers.normalize_clinical` (38.5℃, 0.5g, 每日3次, 3天) and also the
ASCII shorthand of written records (T36.5℃ P80次/分 BP120/80mmHg, 10mg tid)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from shenggu.solutions.medical.record import Entity

_DECIMAL = r"\d+(?:\.\d+)?"
CLAUSE_END = "，,。；;！!？?\n"
_CLAUSE = f"[^{CLAUSE_END}]"


@dataclass(frozen=True)
class _Vital:
    name: str  # the Chinese name FHIR and the record use
    pattern: re.Pattern[str]
    unit: str  # the unit the value is in when the text wrote one


_VITALS = (
    _Vital("体温", re.compile(rf"(?:体温|(?<![A-Za-z])T)[:：]?\s*({_DECIMAL})\s*(℃|°C|度)"), "℃"),
    _Vital("体温", re.compile(rf"体温[:：]?\s*({_DECIMAL})()(?![\d.])"), "℃"),
    _Vital("血压", re.compile(r"(?:血压|BP)[:：]?\s*(\d{2,3}/\d{2,3})\s*(mmHg)?"), "mmHg"),
    _Vital("心率", re.compile(r"(?:心率|HR)[:：]?\s*(\d{2,3})\s*(次/分)?"), "次/分"),
    _Vital("脉搏", re.compile(r"(?:脉搏|(?<![A-Za-z])P)[:：]?\s*(\d{2,3})\s*(次/分)"), "次/分"),
    _Vital("脉搏", re.compile(r"脉搏[:：]?\s*(\d{2,3})()(?![\d.])"), "次/分"),
    _Vital("呼吸", re.compile(r"(?:呼吸|(?<![A-Za-z])R)[:：]?\s*(\d{1,2})\s*(次/分)"), "次/分"),
    _Vital("血氧饱和度", re.compile(r"(?:血氧饱和度|氧饱和度|血氧|SpO2)[:：]?\s*(\d{2,3})\s*(%)"), "%"),
    _Vital("体重", re.compile(rf"体重[:：]?\s*({_DECIMAL})\s*(kg)"), "kg"),
    _Vital("身高", re.compile(rf"身高[:：]?\s*({_DECIMAL})\s*(cm)"), "cm"),
)


def vital_signs(text: str) -> list[Entity]:
    """Vital signs with their values; the unit only where the text wrote one (no value or unit is added)."""
    found: list[Entity] = []
    taken: set[int] = set()
    for vital in _VITALS:
        for m in vital.pattern.finditer(text):
            if m.start() in taken:
                continue
            taken.add(m.start())
            unit = vital.unit if m.group(2) else ""
            found.append(
                Entity("vital_sign", m.group(0), m.start(), m.end(), m.group(1), unit, attributes={"name": vital.name})
            )
    return found


_DOSE = re.compile(rf"({_DECIMAL})\s*(mg|g|μg|ug|ml|mL|IU|U|万单位|片|粒|袋|支|滴|喷)(?![A-Za-z])", re.IGNORECASE)
_ROUTE = re.compile(
    r"口服|静脉滴注|静滴|静脉注射|静推|肌内注射|肌注|皮下注射|外用|雾化吸入|雾化|舌下含服|含服|吸入|滴眼|滴耳|塞肛|"
    r"(?<![A-Za-z])(?:ivgtt|iv|po|im|ih)(?![A-Za-z])",
    re.IGNORECASE,
)
_FREQUENCY = re.compile(
    r"每日\d+次|每天\d+次|\d+次/日|每\d+小时\d+次|每晚|睡前|必要时|顿服|"
    r"(?<![A-Za-z])(?:qd|bid|tid|qid|qn|prn|q\d+h)(?![A-Za-z])",
    re.IGNORECASE,
)
_COURSE = re.compile(r"(?:共|连用|连服|服用|用)?(\d+)(天|日|周)(?!前)")


_UNIT_FORMS = {"mg": "mg", "g": "g", "μg": "μg", "ug": "μg", "ml": "ml", "iu": "IU", "u": "U"}


def canonical_unit(unit: str) -> str:
    """A dose unit as records write it: 10MG → mg, ug → μg, iu → IU; Chinese units (片, 万单位) as given."""
    return _UNIT_FORMS.get(unit.lower(), unit)


# Written orders run their Latin abbreviations together (1100MGIV, 10MGTID, 60MGPOD1-14): a space between
# unit, route, frequency and day lets the patterns read them.
_RUN_TOGETHER = re.compile(
    r"(?i)(?<=\d)(mg|μg|ug|ml|iu|g)(?=ivgtt|iv|po|im|ih|qd|bid|tid|qid|qn|prn|q\d+h|d\d)|"
    r"(?<=[a-z])(ivgtt|iv|po|im|ih)(?=qd|bid|tid|qid|qn|prn|q\d+h|d\d)"
)


def drug_details(tail: str) -> dict[str, str]:
    """Dose, unit, route, frequency and duration written after a drug's name (``tail`` is the text up to the
    clause's end or the next drug)."""
    tail = _RUN_TOGETHER.sub(lambda m: m.group(0) + " ", tail)
    details: dict[str, str] = {}
    if m := _DOSE.search(tail):
        details["dose"], details["unit"] = m.group(1), canonical_unit(m.group(2))
    if m := _ROUTE.search(tail):
        details["route"] = m.group(0)
    if m := _FREQUENCY.search(tail):
        details["frequency"] = m.group(0)
    if m := _COURSE.search(tail):
        details["duration"] = m.group(1) + m.group(2)
    return details


_NEGATED_ALLERGY = re.compile(r"(否认|无)([^，,。；;、]{0,6}?)过敏史?")
_ALLERGY = re.compile(r"对?([^，,。；;、对有]{1,12}?)(?:类)?过敏史?")


def allergies(text: str, allergens: frozenset[str]) -> list[Entity]:
    """Allergies: ``对青霉素过敏``, ``有头孢类过敏史`` (substance from the allergen or drug list) and denials
    (``否认药物过敏史``, ``无食物过敏``: negated, substance 药物/食物/empty)."""
    found: list[Entity] = []
    covered: list[range] = []
    for m in _NEGATED_ALLERGY.finditer(text):
        substance = m.group(2).removesuffix("等").strip()
        denial = Entity("allergy", m.group(0), m.start(), m.end(), negated=True, attributes={"substance": substance})
        found.append(denial)
        covered.append(range(m.start(), m.end()))
    for m in _ALLERGY.finditer(text):
        if any(m.start() in r for r in covered):
            continue
        substance = next((s for s in _suffixes(m.group(1)) if s in allergens), "")
        if substance:
            start = m.start(1) + len(m.group(1)) - len(substance)
            found.append(Entity("allergy", text[start : m.end()], start, m.end(), attributes={"substance": substance}))
    return found


def _suffixes(text: str) -> list[str]:
    return [text[i:] for i in range(len(text))]


_DURATION = re.compile(r"(\d+(?:\.\d+)?|半)(?:个)?(天|日|周|月|年|小时|分钟)(?:余|多)?(?:前)?")


def duration_near(text: str, start: int, end: int) -> str:
    """The duration stated in the clause around ``text[start:end]`` (咳嗽3天, 3天前出现发热), else empty."""
    left = max(text.rfind(c, 0, start) for c in CLAUSE_END) + 1
    right = min([i for c in CLAUSE_END if (i := text.find(c, end)) >= 0] or [len(text)])
    after = _DURATION.search(text, end, right)
    if after is not None:
        return after.group(0)
    before = [m for m in _DURATION.finditer(text, left, start)]
    return before[-1].group(0) if before else ""


_RESULT = re.compile(rf"\s*(?:(?:示|提示|显示|结果为?)[:：]?|[:：])\s*({_CLAUSE}{{1,40}})")
_VERDICT = re.compile(r"\s*(阴性|阳性|正常|未见异常|未见明显异常|\(-\)|（-）|\(\+{1,3}\)|（\+{1,3}）)")


def result_after(text: str, end: int) -> str:
    """An examination's result written right after it (胸片示双肺纹理增粗, 血常规正常, CD20（+++）)."""
    m = _RESULT.match(text, end) or _VERDICT.match(text, end)
    return m.group(1).strip() if m else ""


# A negation cue covers what follows it up to the clause end, unless a word that asserts something comes first
# (无明显诱因出现腹痛: 腹痛 is present).
_NEGATION_CUE = re.compile(r"否认|未见|未闻及|未触及|未诉|没有|不伴|排除|无|未|没")
_ASSERTION = re.compile(r"但|伴有|伴|出现|有|诉|感")


def negated_at(text: str, start: int) -> bool:
    """Whether a mention starting at ``start`` lies in a negation's scope within its clause."""
    left = max(text.rfind(c, 0, start) for c in CLAUSE_END) + 1
    clause = text[left:start]
    cues = list(_NEGATION_CUE.finditer(clause))
    if not cues:
        return False
    after = cues[-1].end() + clause.startswith("有", cues[-1].end())  # 否认有高血压 is still a denial
    return _ASSERTION.search(clause, after) is None
