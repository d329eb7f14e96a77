"""The medical record as a FHIR R4 document Bundle (shenggu/solutions/medical/fhir.py): records built by hand,
the bundle re-validated with the fhir.resources models here, and its resources, codes and values checked."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta, timezone

import pytest
from fhir.resources.R4B.bundle import Bundle

from shenggu.solutions.medical import fhir_codes
from shenggu.solutions.medical.fhir import FhirValidationError, to_fhir_bundle, validate_bundle
from shenggu.solutions.medical.record import Entity, MedicalRecord, Statement

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
XHTML = "{http://www.w3.org/1999/xhtml}"
WHEN = datetime(2024, 3, 5, 15, 15, tzinfo=timezone(timedelta(hours=8)))


def _entity(type_: str, text: str, value: str = "", unit: str = "", **kwargs) -> Entity:
    return Entity(type_, text, 0, len(text), value, unit, **kwargs)


def _record(*sections: tuple[str, str, list[Entity]], draft: bool = False) -> MedicalRecord:
    record = MedicalRecord(mode="dictation", draft=draft)
    for name, text, entities in sections:
        record.section(name).statements.append(Statement(text, entities))
    return record


def _full_record(draft: bool = False) -> MedicalRecord:
    """A record with a statement in every section and an entity of every type."""
    return _record(
        ("主诉", "发热咳嗽3天。", [_entity("symptom", "发热", attributes={"duration": "3天"})]),
        ("现病史", "自服布洛芬，咽部疼痛。", [_entity("drug", "布洛芬"), _entity("body_part", "咽部")]),
        ("既往史", "高血压病史5年，无糖尿病。", [
            _entity("diagnosis", "高血压", code="I10"),
            _entity("diagnosis", "糖尿病", negated=True, code="E14"),
        ]),
        ("过敏史", "否认药物过敏史，对花粉过敏。", [
            _entity("allergy", "否认药物过敏史", negated=True, attributes={"substance": "药物"}),
            _entity("allergy", "花粉过敏", attributes={"substance": "花粉"}),
        ]),
        ("个人史", "吸烟10年。", []),
        ("体格检查", "T38.5℃，P96次/分，BP120/80mmHg，SpO2 98%，咽充血 <+>。", [
            _entity("vital_sign", "T38.5℃", "38.5", "℃", attributes={"name": "体温"}),
            _entity("vital_sign", "P96次/分", "96", "次/分", attributes={"name": "脉搏"}),
            _entity("vital_sign", "BP120/80mmHg", "120/80", "mmHg", attributes={"name": "血压"}),
            _entity("vital_sign", "SpO2 98%", "98", "%", attributes={"name": "血氧饱和度"}),
            _entity("examination", "咽", attributes={"result": "充血"}),
        ]),
        ("辅助检查", "血常规示白细胞升高，胸片未做。", [
            _entity("lab_test", "血常规", attributes={"result": "白细胞升高"}),
            _entity("examination", "胸片"),
        ]),
        ("初步诊断", "急性上呼吸道感染。", [_entity("diagnosis", "急性上呼吸道感染", code="J06.9")]),
        ("处理意见", "雾化吸入治疗。", [_entity("procedure", "雾化吸入")]),
        ("医嘱", "阿莫西林胶囊0.5g口服每日3次，共3天。", [
            _entity(
                "drug",
                "阿莫西林胶囊",
                attributes={"dose": "0.5", "unit": "g", "route": "口服", "frequency": "每日3次", "duration": "3天"},
            )
        ]),
        draft=draft,
    )  # fmt: skip


def _resources(bundle: dict, resource_type: str) -> list[dict]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == resource_type]


def _one(bundle: dict, resource_type: str) -> dict:
    (resource,) = _resources(bundle, resource_type)
    return resource


def _codes(concept: dict) -> list[tuple[str, str]]:
    return [(c["system"], c["code"]) for c in concept.get("coding", [])]


def _vital(bundle: dict, loinc: str) -> dict:
    (found,) = [r for r in _resources(bundle, "Observation") if (LOINC, loinc) in _codes(r["code"])]
    return found


def _section(bundle: dict, title: str) -> dict:
    composition = bundle["entry"][0]["resource"]
    (found,) = [s for s in composition["section"] if s["title"] == title]
    return found


def test_full_record_is_a_valid_document_bundle() -> None:
    bundle = to_fhir_bundle(_full_record(), patient_name="张三", record_id="rec-42", when=WHEN)
    parsed = Bundle.model_validate(json.loads(json.dumps(bundle)))  # JSON-ready and valid FHIR
    assert parsed.type == "document"
    assert bundle["identifier"]["value"].startswith("urn:uuid:")
    assert bundle["timestamp"] == "2024-03-05T15:15:00+08:00"
    composition = bundle["entry"][0]["resource"]  # a document starts with its Composition
    assert composition["resourceType"] == "Composition"
    assert composition["status"] == "final"
    assert composition["title"] == "门诊病历"
    assert composition["identifier"] == {"value": "rec-42"}
    assert composition["date"] == bundle["timestamp"]
    assert _one(bundle, "Patient")["name"] == [{"text": "张三"}]
    assert _one(bundle, "Encounter")["class"]["code"] == "AMB"
    full_urls = [e["fullUrl"] for e in bundle["entry"]]
    assert all(u.startswith("urn:uuid:") for u in full_urls) and len(set(full_urls)) == len(full_urls)
    counts = {t: len(_resources(bundle, t)) for t in {e["resource"]["resourceType"] for e in bundle["entry"]}}
    assert counts == {
        "Composition": 1,
        "Patient": 1,
        "Encounter": 1,
        "Condition": 3,
        "AllergyIntolerance": 2,
        "Observation": 6,  # 4 vital signs, the throat examination's and the blood count's results
        "MedicationRequest": 1,
        "MedicationStatement": 1,
    }


def test_every_reference_resolves_inside_the_bundle() -> None:
    bundle = to_fhir_bundle(_full_record(), when=WHEN)
    full_urls = {e["fullUrl"] for e in bundle["entry"]}

    def references(value: object) -> list[str]:
        if isinstance(value, dict):
            return [value["reference"]] if "reference" in value else [r for v in value.values() for r in references(v)]
        return [r for v in value for r in references(v)] if isinstance(value, list) else []

    found = references(bundle)
    assert len(found) > 20 and set(found) <= full_urls


def test_sections_have_loinc_codes_narrative_and_entries() -> None:
    bundle = to_fhir_bundle(_full_record(), when=WHEN)
    composition = bundle["entry"][0]["resource"]
    assert [s["title"] for s in composition["section"]] == [
        "主诉", "现病史", "既往史", "过敏史", "个人史", "体格检查", "辅助检查", "初步诊断", "处理意见", "医嘱"
    ]  # fmt: skip
    expected = {
        "主诉": "10154-3", "现病史": "10164-2", "既往史": "11348-0", "过敏史": "48765-2", "个人史": "29762-2",
        "体格检查": "29545-1", "辅助检查": "30954-2", "初步诊断": "29548-5", "处理意见": "18776-5", "医嘱": "18776-5",
    }  # fmt: skip
    for section in composition["section"]:
        assert _codes(section["code"]) == [(LOINC, expected[section["title"]])]
    by_url = {e["fullUrl"]: e["resource"] for e in bundle["entry"]}
    entry_types = {
        s["title"]: sorted(by_url[r["reference"]]["resourceType"] for r in s.get("entry", []))
        for s in composition["section"]
    }
    assert entry_types["过敏史"] == ["AllergyIntolerance", "AllergyIntolerance"]
    assert entry_types["体格检查"] == ["Observation"] * 5
    assert entry_types["辅助检查"] == ["Observation"]  # 胸片 has no result
    assert entry_types["医嘱"] == ["MedicationRequest"]
    assert entry_types["主诉"] == entry_types["个人史"] == entry_types["处理意见"] == []  # narrative only


def test_narrative_is_escaped_well_formed_xhtml() -> None:
    bundle = to_fhir_bundle(_full_record(), when=WHEN)
    section = _section(bundle, "体格检查")
    assert section["text"]["status"] == "generated"
    div = ET.fromstring(section["text"]["div"])  # raises if the markup is not well-formed
    assert div.tag == f"{XHTML}div"
    assert [p.text for p in div.iter(f"{XHTML}p")] == ["T38.5℃，P96次/分，BP120/80mmHg，SpO2 98%，咽充血 <+>。"]
    assert "&lt;+&gt;" in section["text"]["div"]


def test_vital_signs_have_loinc_codes_and_ucum_quantities() -> None:
    bundle = to_fhir_bundle(_full_record(), when=WHEN)
    temperature = _vital(bundle, "8310-5")
    assert temperature["valueQuantity"] == {"value": 38.5, "unit": "℃", "system": UCUM, "code": "Cel"}
    assert temperature["category"][0]["coding"][0]["code"] == "vital-signs"
    assert temperature["status"] == "final"
    assert temperature["effectiveDateTime"] == "2024-03-05T15:15:00+08:00"
    pulse = _vital(bundle, "8867-4")
    assert pulse["code"]["text"] == "脉搏"
    assert pulse["valueQuantity"] == {"value": 96, "unit": "次/分", "system": UCUM, "code": "/min"}
    assert _vital(bundle, "59408-5")["valueQuantity"]["code"] == "%"


def test_blood_pressure_is_a_panel_with_systolic_and_diastolic_components() -> None:
    bundle = to_fhir_bundle(_full_record(), when=WHEN)
    pressure = _vital(bundle, "85354-9")
    assert "valueQuantity" not in pressure
    components = {c["code"]["coding"][0]["code"]: c["valueQuantity"] for c in pressure["component"]}
    assert components == {
        "8480-6": {"value": 120, "unit": "mmHg", "system": UCUM, "code": "mm[Hg]"},
        "8462-4": {"value": 80, "unit": "mmHg", "system": UCUM, "code": "mm[Hg]"},
    }


def test_other_vitals_weight_height_unknown_and_unmeasured() -> None:
    record = _record(
        ("体格检查", "体重65kg，身高170cm，腰围80cm，心率未测，神志清楚。", [
            _entity("vital_sign", "体重65kg", "65", "kg", attributes={"name": "体重"}),
            _entity("vital_sign", "身高170cm", "170", "cm", attributes={"name": "身高"}),
            _entity("vital_sign", "腰围80cm", "80", "cm", attributes={"name": "腰围"}),
            _entity("vital_sign", "心率", attributes={"name": "心率"}),
            _entity("vital_sign", "神志", "清楚", attributes={"name": "神志"}),
        ])
    )  # fmt: skip
    bundle = to_fhir_bundle(record, when=WHEN)
    assert _vital(bundle, "29463-7")["valueQuantity"]["code"] == "kg"
    assert _vital(bundle, "8302-2")["valueQuantity"] == {"value": 170, "unit": "cm", "system": UCUM, "code": "cm"}
    uncoded = [r for r in _resources(bundle, "Observation") if "coding" not in r["code"]]
    assert [(r["code"], r.get("valueQuantity"), r.get("valueString")) for r in uncoded] == [
        ({"text": "腰围"}, {"value": 80, "unit": "cm", "system": UCUM, "code": "cm"}, None),
        ({"text": "神志"}, None, "清楚"),
    ]
    assert len(_resources(bundle, "Observation")) == 4  # the unmeasured heart rate makes none


def test_ordered_drug_is_a_medication_request_with_structured_dosage() -> None:
    bundle = to_fhir_bundle(_full_record(), when=WHEN)
    request = _one(bundle, "MedicationRequest")
    assert (request["status"], request["intent"]) == ("active", "order")
    assert request["medicationCodeableConcept"] == {"text": "阿莫西林胶囊"}
    (dosage,) = request["dosageInstruction"]
    assert dosage["text"] == "阿莫西林胶囊 0.5g 口服 每日3次 3天"
    assert dosage["doseAndRate"] == [{"doseQuantity": {"value": 0.5, "unit": "g", "system": UCUM, "code": "g"}}]
    assert dosage["route"]["text"] == "口服" and _codes(dosage["route"]) == [(SNOMED, "26643006")]
    assert dosage["timing"]["code"] == {"text": "每日3次"}
    assert dosage["timing"]["repeat"] == {
        "frequency": 3,
        "period": 1,
        "periodUnit": "d",
        "boundsDuration": {"value": 3, "unit": "d", "system": UCUM, "code": "d"},
    }


@pytest.mark.parametrize(
    ("attributes", "dose", "route", "timing"),
    [
        (
            {"dose": "2", "unit": "片", "route": "外用", "frequency": "tid"},
            {"value": 2, "unit": "片"},
            {"coding": [{"system": SNOMED, "code": "6064005", "display": "Topical route"}], "text": "外用"},
            {
                "code": {"coding": [{"system": fhir_codes.TIMING_ABBREVIATION, "code": "TID"}], "text": "tid"},
                "repeat": {"frequency": 3, "period": 1, "periodUnit": "d"},
            },
        ),
        (
            {"dose": "400IU", "route": "雾化", "frequency": "每8小时1次", "duration": "两周"},
            {"value": 400, "unit": "IU", "system": UCUM, "code": "[iU]"},
            {"text": "雾化"},
            {
                "code": {"coding": [{"system": fhir_codes.TIMING_ABBREVIATION, "code": "Q8H"}], "text": "每8小时1次"},
                "repeat": {
                    "frequency": 1,
                    "period": 8,
                    "periodUnit": "h",
                    "boundsDuration": {"value": 2, "unit": "wk", "system": UCUM, "code": "wk"},
                },
            },
        ),
        ({"frequency": "必要时"}, None, None, {"code": {"text": "必要时"}}),
    ],
)
def test_dosage_units_routes_and_frequencies(
    attributes: dict, dose: dict | None, route: dict | None, timing: dict
) -> None:
    record = _record(("处理意见", "用药。", [_entity("drug", "某药", attributes=attributes)]))
    (dosage,) = _one(to_fhir_bundle(record, when=WHEN), "MedicationRequest")["dosageInstruction"]
    assert dosage.get("doseAndRate", [{}])[0].get("doseQuantity") == dose
    assert dosage.get("route") == route
    assert dosage["timing"] == timing
    assert dosage.get("asNeededBoolean") == (True if attributes.get("frequency") == "必要时" else None)


def test_reported_and_denied_drugs() -> None:
    record = _record(
        ("现病史", "自服布洛芬，未服阿司匹林。", [
            _entity("drug", "布洛芬", attributes={"dose": "0.3", "unit": "g"}),
            _entity("drug", "阿司匹林", negated=True),
        ]),
        ("医嘱", "停用华法林。", [_entity("drug", "华法林", negated=True)]),
    )  # fmt: skip
    bundle = to_fhir_bundle(record, when=WHEN)
    assert _resources(bundle, "MedicationRequest") == []  # a drug not to give is no order
    statements = {s["medicationCodeableConcept"]["text"]: s for s in _resources(bundle, "MedicationStatement")}
    assert {name: s["status"] for name, s in statements.items()} == {"布洛芬": "active", "阿司匹林": "not-taken"}
    assert statements["布洛芬"]["dosage"][0]["doseAndRate"][0]["doseQuantity"]["code"] == "g"


def test_diagnoses_are_conditions_with_icd10_and_refuted_denials() -> None:
    bundle = to_fhir_bundle(_full_record(), when=WHEN)
    conditions = {c["code"]["text"]: c for c in _resources(bundle, "Condition")}
    visit = conditions["急性上呼吸道感染"]
    assert _codes(visit["code"]) == [("http://hl7.org/fhir/sid/icd-10", "J06.9")]
    assert visit["verificationStatus"]["coding"][0]["code"] == "confirmed"
    assert visit["clinicalStatus"]["coding"][0]["code"] == "active"
    assert visit["category"][0]["coding"][0]["code"] == "encounter-diagnosis"
    assert conditions["高血压"]["category"][0]["coding"][0]["code"] == "problem-list-item"
    denied = conditions["糖尿病"]
    assert denied["verificationStatus"]["coding"][0] == {
        "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
        "code": "refuted",
        "display": "Refuted",
    }
    assert "clinicalStatus" not in denied


def test_diagnosis_without_code_has_text_only() -> None:
    record = _record(("初步诊断", "无高血压，考虑胃炎。", [
        _entity("diagnosis", "高血压", negated=True),
        _entity("diagnosis", "胃炎"),
    ]))  # fmt: skip
    conditions = _resources(to_fhir_bundle(record, when=WHEN), "Condition")
    assert [c["code"] for c in conditions] == [{"text": "高血压"}, {"text": "胃炎"}]
    assert [c["verificationStatus"]["coding"][0]["code"] for c in conditions] == ["refuted", "confirmed"]


@pytest.mark.parametrize(
    ("entity", "code", "category", "verification", "clinical"),
    [
        (_entity("allergy", "否认药物过敏史", negated=True, attributes={"substance": "药物"}),
         {"coding": [{"system": SNOMED, "code": "409137002", "display": "No known drug allergy"}],
          "text": "否认药物过敏史"},
         ["medication"], "confirmed", "active"),
        (_entity("allergy", "否认过敏史", negated=True, attributes={"substance": ""}),
         {"coding": [{"system": SNOMED, "code": "716186003", "display": "No known allergy"}], "text": "否认过敏史"},
         None, "confirmed", "active"),
        (_entity("allergy", "无食物过敏", negated=True, attributes={"substance": "食物"}),
         {"coding": [{"system": SNOMED, "code": "429625007", "display": "No known food allergy"}],
          "text": "无食物过敏"},
         ["food"], "confirmed", "active"),
        (_entity("allergy", "否认青霉素过敏", negated=True, attributes={"substance": "青霉素"}),
         {"text": "青霉素"}, None, "refuted", "inactive"),
        (_entity("allergy", "青霉素过敏", attributes={"substance": "青霉素"}),
         {"text": "青霉素"}, None, "confirmed", "active"),
        (_entity("allergy", "海鲜过敏"), {"text": "海鲜过敏"}, None, "confirmed", "active"),
    ],
)  # fmt: skip
def test_allergies(entity: Entity, code: dict, category: list | None, verification: str, clinical: str) -> None:
    bundle = to_fhir_bundle(_record(("过敏史", entity.text, [entity])), when=WHEN)
    allergy = _one(bundle, "AllergyIntolerance")
    assert allergy["code"] == code
    assert allergy.get("category") == category
    assert allergy["verificationStatus"]["coding"][0]["code"] == verification
    assert allergy["clinicalStatus"]["coding"][0]["code"] == clinical
    assert allergy["patient"] == {"reference": bundle["entry"][1]["fullUrl"]}


def test_draft_record_is_preliminary_throughout() -> None:
    bundle = to_fhir_bundle(_full_record(draft=True), when=WHEN)
    assert bundle["entry"][0]["resource"]["status"] == "preliminary"
    conditions = {c["code"]["text"]: c for c in _resources(bundle, "Condition")}
    assert conditions["急性上呼吸道感染"]["verificationStatus"]["coding"][0]["code"] == "provisional"
    assert conditions["糖尿病"]["verificationStatus"]["coding"][0]["code"] == "refuted"
    assert _one(bundle, "MedicationRequest")["status"] == "draft"
    assert {o["status"] for o in _resources(bundle, "Observation")} == {"preliminary"}
    allergies = {a["code"]["text"]: a for a in _resources(bundle, "AllergyIntolerance")}
    assert allergies["花粉"]["verificationStatus"]["coding"][0]["code"] == "unconfirmed"


def test_empty_record_is_a_valid_bundle_without_sections() -> None:
    record = MedicalRecord(mode="consultation", reason="no medical content")
    record.section("主诉")  # a section with no statement is not written
    bundle = to_fhir_bundle(record)
    Bundle.model_validate(bundle)
    composition = bundle["entry"][0]["resource"]
    assert "section" not in composition and "identifier" not in composition
    assert [e["resource"]["resourceType"] for e in bundle["entry"]] == ["Composition", "Patient", "Encounter"]
    assert "name" not in bundle["entry"][1]["resource"]
    stamp = datetime.fromisoformat(bundle["timestamp"])
    assert stamp.tzinfo is not None and abs(stamp - datetime.now(UTC)) < timedelta(minutes=5)


def test_naive_time_is_taken_as_local_and_bundles_differ_in_ids() -> None:
    naive = datetime(2024, 3, 5, 15, 15)
    first, second = (to_fhir_bundle(_full_record(), when=naive) for _ in range(2))
    assert datetime.fromisoformat(first["timestamp"]) == naive.astimezone()
    assert first["identifier"] != second["identifier"]  # each export is a new document
    assert {e["fullUrl"] for e in first["entry"]}.isdisjoint(e["fullUrl"] for e in second["entry"])


def test_validate_bundle_rejects_invalid_fhir() -> None:
    bundle = to_fhir_bundle(_full_record(), when=WHEN)
    validate_bundle(bundle)
    observation = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation")
    del observation["status"]
    with pytest.raises(FhirValidationError, match="status"):
        validate_bundle(bundle)
    observation["status"], observation["effectiveDateTime"] = "final", "2024-03-05 15:15"
    with pytest.raises(FhirValidationError, match="effectiveDateTime"):
        validate_bundle(bundle)


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("每日3次", fhir_codes.Frequency(3, 1, "d")),
        ("每天两次", fhir_codes.Frequency(2, 1, "d")),
        ("2次/日", fhir_codes.Frequency(2, 1, "d")),
        ("BID", fhir_codes.Frequency(2, 1, "d", abbreviation="BID")),
        ("q6h", fhir_codes.Frequency(1, 6, "h", abbreviation="Q6H")),
        ("每12小时1次", fhir_codes.Frequency(1, 12, "h")),
        ("睡前", fhir_codes.Frequency(when="HS")),
        ("顿服", None),
    ],
)
def test_frequency_forms(written: str, expected: fhir_codes.Frequency | None) -> None:
    assert fhir_codes.frequency(written) == expected


@pytest.mark.parametrize(
    ("written", "expected"),
    [("3天", (3, "d")), ("共5日", (5, "d")), ("两周", (2, "wk")), ("1个月", (1, "mo")), ("长期", None)],
)
def test_duration_forms(written: str, expected: tuple[int, str] | None) -> None:
    assert fhir_codes.duration(written) == expected


@pytest.mark.parametrize(
    ("unit", "code"),
    [("℃", "Cel"), ("次/分", "/min"), ("mmHg", "mm[Hg]"), ("MG", "mg"), ("μg", "ug"), ("ml", "mL"), ("IU", "[iU]"),
     ("片", ""), ("U", ""), ("万单位", "")],
)  # fmt: skip
def test_ucum_units(unit: str, code: str) -> None:
    assert fhir_codes.ucum(unit) == code
