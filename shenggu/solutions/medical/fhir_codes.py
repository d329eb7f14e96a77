"""The code systems and codes :mod:`shenggu.solutions.medical.fhir` writes: LOINC for the record's sections and
vital signs, UCUM for units, SNOMED CT for routes and "no known allergy", HL7 terminology for statuses and
categories. Each table maps the written form the record uses (体温, 次/分, 口服, 每日3次, 3天) to its code."""

from __future__ import annotations

import re
from typing import NamedTuple

from shenggu.text.numbers_zh import parse_zh_positional

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
_TERMINOLOGY = "http://terminology.hl7.org/CodeSystem"
CONDITION_CLINICAL = f"{_TERMINOLOGY}/condition-clinical"
CONDITION_VERIFICATION = f"{_TERMINOLOGY}/condition-ver-status"
CONDITION_CATEGORY = f"{_TERMINOLOGY}/condition-category"
ALLERGY_CLINICAL = f"{_TERMINOLOGY}/allergyintolerance-clinical"
ALLERGY_VERIFICATION = f"{_TERMINOLOGY}/allergyintolerance-verification"
OBSERVATION_CATEGORY = f"{_TERMINOLOGY}/observation-category"
ACT_CODE = f"{_TERMINOLOGY}/v3-ActCode"
TIMING_ABBREVIATION = f"{_TERMINOLOGY}/v3-GTSAbbreviation"


class Code(NamedTuple):
    """A code of a code system, with the system's display for it."""

    code: str
    display: str


# The document: an outpatient visit's note (门诊病历).
OUTPATIENT_NOTE = Code("34108-1", "Outpatient Note")

# Record section → the LOINC code of the C-CDA/IPS section of that content.
SECTION_CODES: dict[str, Code] = {
    "主诉": Code("10154-3", "Chief complaint Narrative - Reported"),
    "现病史": Code("10164-2", "History of Present illness Narrative"),
    "既往史": Code("11348-0", "History of Past illness Narrative"),
    "过敏史": Code("48765-2", "Allergies and adverse reactions Document"),
    "个人史": Code("29762-2", "Social history Narrative"),
    "体格检查": Code("29545-1", "Physical findings Narrative"),
    "辅助检查": Code("30954-2", "Relevant diagnostic tests/laboratory data Narrative"),
    "初步诊断": Code("29548-5", "Diagnosis Narrative"),
    "处理意见": Code("18776-5", "Plan of care note"),
    "医嘱": Code("18776-5", "Plan of care note"),
}

# Vital sign (its Chinese name, as ``entity.attributes["name"]`` holds it) → LOINC (the FHIR vital-signs codes).
VITAL_CODES: dict[str, Code] = {
    "体温": Code("8310-5", "Body temperature"),
    "心率": Code("8867-4", "Heart rate"),
    "脉搏": Code("8867-4", "Heart rate"),  # FHIR's vital-signs profile records a pulse as the heart rate
    "呼吸": Code("9279-1", "Respiratory rate"),
    "呼吸频率": Code("9279-1", "Respiratory rate"),
    "血压": Code("85354-9", "Blood pressure panel with all children optional"),
    "血氧饱和度": Code("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry"),
    "体重": Code("29463-7", "Body weight"),
    "身高": Code("8302-2", "Body height"),
    "BMI": Code("39156-5", "Body mass index (BMI) [Ratio]"),
    "体重指数": Code("39156-5", "Body mass index (BMI) [Ratio]"),
}
BLOOD_PRESSURE = "血压"
SYSTOLIC = Code("8480-6", "Systolic blood pressure")
DIASTOLIC = Code("8462-4", "Diastolic blood pressure")

# Written unit → UCUM code. Count units (片, 粒, 袋, 支) and 单位/U (insulin units, not UCUM's enzyme unit U) have
# none: they stay as the quantity's unit text.
_UCUM_UNITS: dict[str, str] = {
    "℃": "Cel",
    "°c": "Cel",
    "度": "Cel",
    "次/分": "/min",
    "次/分钟": "/min",
    "bpm": "/min",
    "/min": "/min",
    "mmhg": "mm[Hg]",
    "kpa": "kPa",
    "%": "%",
    "kg": "kg",
    "g": "g",
    "mg": "mg",
    "ug": "ug",
    "μg": "ug",  # Greek mu
    "µg": "ug",  # micro sign
    "mcg": "ug",
    "ml": "mL",
    "l": "L",
    "iu": "[iU]",
    "cm": "cm",
    "mm": "mm",
    "m": "m",
}


def ucum(unit: str) -> str:
    """The UCUM code of a written unit (``℃`` → ``Cel``, ``mmHg`` → ``mm[Hg]``, ``IU`` → ``[iU]``); empty when
    the unit has none (片, 粒, 万单位)."""
    return _UCUM_UNITS.get(unit.strip().lower(), "")


# Route (as the record writes it) → SNOMED CT route of administration.
_ORAL = Code("26643006", "Oral route")
_INTRAVENOUS = Code("47625008", "Intravenous route")
_INTRAMUSCULAR = Code("78421000", "Intramuscular route")
_SUBCUTANEOUS = Code("34206005", "Subcutaneous route")
ROUTE_CODES: dict[str, Code] = {
    "口服": _ORAL,
    "po": _ORAL,
    "静脉滴注": _INTRAVENOUS,
    "静滴": _INTRAVENOUS,
    "静脉注射": _INTRAVENOUS,
    "静推": _INTRAVENOUS,
    "ivgtt": _INTRAVENOUS,
    "iv": _INTRAVENOUS,
    "肌内注射": _INTRAMUSCULAR,
    "肌注": _INTRAMUSCULAR,
    "im": _INTRAMUSCULAR,
    "皮下注射": _SUBCUTANEOUS,
    "ih": _SUBCUTANEOUS,
    "外用": Code("6064005", "Topical route"),
    "舌下含服": Code("37839007", "Sublingual route"),
    "塞肛": Code("37161004", "Per rectum"),
}

# A denied allergy to a class of substances → SNOMED CT's "no known ... allergy" situation and its category.
NO_KNOWN_ALLERGY = Code("716186003", "No known allergy")
NO_KNOWN_DRUG_ALLERGY = Code("409137002", "No known drug allergy")
NO_KNOWN_FOOD_ALLERGY = Code("429625007", "No known food allergy")
_ALLERGY_CLASSES: dict[str, tuple[Code, str]] = {
    "": (NO_KNOWN_ALLERGY, ""),
    "药物": (NO_KNOWN_DRUG_ALLERGY, "medication"),
    "药品": (NO_KNOWN_DRUG_ALLERGY, "medication"),
    "药": (NO_KNOWN_DRUG_ALLERGY, "medication"),
    "食物": (NO_KNOWN_FOOD_ALLERGY, "food"),
    "食物药物": (NO_KNOWN_ALLERGY, ""),
    "药物食物": (NO_KNOWN_ALLERGY, ""),
}
_ALLERGY_NOISE = re.compile(r"否认|无|过敏史?|及|和|与|、|等|类|\s")


def no_known_allergy(substance: str) -> tuple[Code, str] | None:
    """For a denied allergy's substance, the "no known allergy" code and the AllergyIntolerance category
    (``药物`` → no known drug allergy, medication; empty → no known allergy); ``None`` for one named substance
    (否认青霉素过敏), which is a refuted allergy to that substance instead."""
    return _ALLERGY_CLASSES.get(_ALLERGY_NOISE.sub("", substance))


class Frequency(NamedTuple):
    """How often a dose is taken: ``frequency`` times per ``period`` ``period_unit`` (UCUM: h, d), at ``when``
    (FHIR event timing, e.g. HS: before sleep), or as needed; ``abbreviation`` is its HL7 GTS code if any."""

    frequency: int = 0
    period: int = 0
    period_unit: str = ""
    when: str = ""
    as_needed: bool = False
    abbreviation: str = ""


_FIXED_FREQUENCIES: dict[str, Frequency] = {
    "qd": Frequency(1, 1, "d", abbreviation="QD"),
    "bid": Frequency(2, 1, "d", abbreviation="BID"),
    "tid": Frequency(3, 1, "d", abbreviation="TID"),
    "qid": Frequency(4, 1, "d", abbreviation="QID"),
    "qod": Frequency(1, 2, "d", abbreviation="QOD"),
    "qn": Frequency(1, 1, "d", when="NIGHT"),
    "每晚": Frequency(1, 1, "d", when="NIGHT"),
    "睡前": Frequency(when="HS"),
    "prn": Frequency(as_needed=True),
    "必要时": Frequency(as_needed=True),
}
_COUNT = r"(\d+|[一二两三四五六七八九十]+)"
_PER_DAY = re.compile(rf"(?:每日|每天|一日|一天|日){_COUNT}次|{_COUNT}次/日")
_PER_HOURS = re.compile(rf"每{_COUNT}(?:个)?小时{_COUNT}?次?|q(\d+)h", re.IGNORECASE)
# Hour intervals the GTS abbreviations name.
_GTS_HOURS = frozenset({1, 2, 3, 4, 6, 8})


def count(text: str) -> int | None:
    """A small count written in digits or Chinese numerals (``3``, ``三``, ``两``); ``None`` otherwise."""
    return int(text) if text.isdigit() else parse_zh_positional(text)


def frequency(text: str) -> Frequency | None:
    """The structured form of a written frequency (``每日3次``, ``3次/日``, ``每8小时1次``, ``tid``, ``q8h``,
    ``睡前``, ``必要时``); ``None`` when it is not one of these forms."""
    folded = text.strip().lower()
    if folded in _FIXED_FREQUENCIES:
        return _FIXED_FREQUENCIES[folded]
    if m := _PER_DAY.fullmatch(folded):
        times = count(m.group(1) or m.group(2))
        return Frequency(times, 1, "d") if times else None
    if m := _PER_HOURS.fullmatch(folded):
        hours = count(m.group(1) or m.group(3))
        times = count(m.group(2)) if m.group(2) else 1
        if not hours or not times:
            return None
        abbreviation = f"Q{hours}H" if times == 1 and hours in _GTS_HOURS else ""
        return Frequency(times, hours, "h", abbreviation=abbreviation)
    return None


# Written duration unit → UCUM unit of time.
_TIME_UNITS = {"天": "d", "日": "d", "周": "wk", "星期": "wk", "月": "mo", "个月": "mo", "小时": "h", "分钟": "min"}
_DURATION = re.compile(rf"{_COUNT}\s*({'|'.join(sorted(_TIME_UNITS, key=len, reverse=True))})")


def duration(text: str) -> tuple[int, str] | None:
    """A course's length as (value, UCUM unit): ``3天`` → ``(3, "d")``, ``两周`` → ``(2, "wk")``; ``None`` when
    the text holds none."""
    m = _DURATION.search(text)
    value = count(m.group(1)) if m else None
    return (value, _TIME_UNITS[m.group(2)]) if m and value else None
