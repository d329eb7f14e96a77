"""The clinical record as an HL7 FHIR R4 document: a ``Bundle`` of type ``document`` whose first entry is the
``Composition`` (门诊病历, one section per non-empty record section, with its narrative) and whose other
entries are the resources made from the record's entities: Patient, Encounter, Condition (diagnoses, refuted
when denied), Observation (vital signs; examination and lab results), MedicationRequest (drugs ordered in
处理意见/医嘱), MedicationStatement (drugs the history reports) and AllergyIntolerance.

The bundle is validated with the ``fhir.resources`` models before it is returned. Its R4B models (FHIR 4.3.0)
are used: the only ``fhir.resources`` releases with plain R4 (4.0.1) models need pydantic 1, and R4B leaves
every resource written here as R4 has it, so the JSON is R4 as well."""

from __future__ import annotations

import html
import re
import uuid
from datetime import datetime
from typing import Any

from shenggu.errors import ShengguError
from shenggu.solutions.medical import fhir_codes as codes
from shenggu.solutions.medical.fhir_codes import Code
from shenggu.solutions.medical.record import Entity, MedicalRecord, Section
from shenggu.text.digits import DIGIT_NUMBER

RECORD_TITLE = "门诊病历"
# Drugs in these sections are the visit's orders; elsewhere (现病史, 既往史...) they are what the patient takes.
ORDER_SECTIONS = frozenset({"处理意见", "医嘱"})
_AUTHOR = {"type": "Device", "display": "声谷 shenggu 病历生成"}
_BLOOD_PRESSURE = re.compile(r"(\d+(?:\.\d+)?)\s*/\s*(\d+(?:\.\d+)?)")
_DOSE = re.compile(r"(\d+(?:\.\d+)?)\s*(\S*)")
# Characters XML does not allow, even escaped (a narrative must be well-formed XHTML).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


class FhirValidationError(ShengguError):
    """The FHIR bundle built from a record does not validate against the FHIR models."""

    code = "fhir_invalid"
    http_status = 500


def to_fhir_bundle(
    record: MedicalRecord, *, patient_name: str = "", record_id: str = "", when: datetime | None = None
) -> dict:
    """``record`` as a validated FHIR R4 document Bundle (JSON-ready dict).

    ``patient_name`` names the Patient; ``record_id`` becomes the Composition's identifier; ``when`` (default:
    now; a naive time is local) dates the document and every resource. A draft record (a consultation not yet
    confirmed) makes a preliminary Composition, provisional diagnoses and draft orders. Raises
    :class:`FhirValidationError` if the result does not validate."""
    bundle = _BundleBuilder(record, patient_name, when or datetime.now()).build(record_id)
    validate_bundle(bundle)
    return bundle


def validate_bundle(bundle: dict) -> None:
    """Check a FHIR Bundle (JSON dict) against the ``fhir.resources`` models: required elements, data types,
    formats (dates, codes, ids) and no unknown elements. Raises :class:`FhirValidationError` naming the first
    problems."""
    from fhir.resources.R4B.bundle import Bundle  # deferred: loading the FHIR models takes a noticeable moment
    from pydantic import ValidationError

    try:
        Bundle.model_validate(bundle)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:5])
        raise FhirValidationError(f"the FHIR bundle is not valid FHIR R4: {problems}") from exc


class _BundleBuilder:
    """Builds the bundle's resources, remembering which section each came from."""

    def __init__(self, record: MedicalRecord, patient_name: str, when: datetime) -> None:
        self.record = record
        self.draft = record.draft
        # FHIR times with a clock need a zone: an aware time keeps its own, a naive one is read as local time.
        self.timestamp = (when if when.tzinfo else when.astimezone()).isoformat(timespec="seconds")
        self.entries: list[dict] = []
        self.patient = self._add("Patient", {"name": [{"text": patient_name.strip()}]})
        self.encounter = self._add(
            "Encounter",
            {
                "status": "finished",
                "class": {"system": codes.ACT_CODE, "code": "AMB", "display": "ambulatory"},
                "subject": self.patient,
            },
        )

    def build(self, record_id: str) -> dict:
        """The Bundle: the Composition first (a document's rule), then the other resources."""
        sections = [self._section(s) for s in self.record.sections if s.statements]
        composition = {
            "resourceType": "Composition",
            "id": str(uuid.uuid4()),
            "identifier": {"value": record_id.strip()},
            "status": "preliminary" if self.draft else "final",
            "type": _concept(codes.LOINC, codes.OUTPATIENT_NOTE, RECORD_TITLE),
            "subject": self.patient,
            "encounter": self.encounter,
            "date": self.timestamp,
            "author": [_AUTHOR],
            "title": RECORD_TITLE,
            "section": sections,
        }
        entries = [{"fullUrl": f"urn:uuid:{composition['id']}", "resource": composition}, *self.entries]
        return _compact(
            {
                "resourceType": "Bundle",
                "identifier": {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{uuid.uuid4()}"},
                "type": "document",
                "timestamp": self.timestamp,
                "entry": entries,
            }
        )

    def _add(self, resource_type: str, content: dict) -> dict:
        """Add a resource to the bundle; returns the reference to it."""
        resource_id = str(uuid.uuid4())
        full_url = f"urn:uuid:{resource_id}"
        self.entries.append(
            {"fullUrl": full_url, "resource": {"resourceType": resource_type, "id": resource_id, **content}}
        )
        return {"reference": full_url}

    def _section(self, section: Section) -> dict:
        references = [
            ref
            for statement in section.statements
            for entity in statement.entities
            if (ref := self._entity(entity, section.name)) is not None
        ]
        code = codes.SECTION_CODES.get(section.name)
        return {
            "title": section.name,
            "code": _concept(codes.LOINC, code, section.name) if code else None,
            "text": _narrative([s.text for s in section.statements]),
            "entry": references,
        }

    def _entity(self, entity: Entity, section: str) -> dict | None:
        """The resource an entity becomes (added to the bundle), as a reference; ``None`` for entities that stay in
        the narrative only (symptoms, procedures, body parts; results not stated)."""
        if entity.type == "diagnosis":
            return self._add("Condition", self._condition(entity, section))
        if entity.type == "vital_sign" and not entity.negated:
            return self._vital_sign(entity)
        if entity.type in ("examination", "lab_test") and not entity.negated:
            return self._result(entity)
        if entity.type == "drug":
            return self._drug(entity, section)
        if entity.type == "allergy":
            return self._add("AllergyIntolerance", self._allergy(entity))
        return None

    def _condition(self, entity: Entity, section: str) -> dict:
        # A denied diagnosis was ruled out at this visit; a diagnosis the history reports is on the problem list.
        on_problem_list = section != "初步诊断" and not entity.negated
        verification = "refuted" if entity.negated else "provisional" if self.draft else "confirmed"
        return {
            # A refuted condition has no clinical status to state (con-3 asks one only of problem-list items).
            "clinicalStatus": None if entity.negated else _concept(codes.CONDITION_CLINICAL, Code("active", "Active")),
            "verificationStatus": _concept(codes.CONDITION_VERIFICATION, Code(verification, verification.title())),
            "category": [
                _concept(codes.CONDITION_CATEGORY, Code("problem-list-item", "Problem List Item"))
                if on_problem_list
                else _concept(codes.CONDITION_CATEGORY, Code("encounter-diagnosis", "Encounter Diagnosis"))
            ],
            "code": {
                "coding": [{"system": codes.ICD10, "code": entity.code.strip()}] if entity.code.strip() else None,
                "text": entity.text,
            },
            "subject": self.patient,
            "encounter": self.encounter,
            "recordedDate": self.timestamp,
        }

    def _observation(self, category: Code, code: dict, value: dict) -> dict:
        content = {
            "status": "preliminary" if self.draft else "final",
            "category": [_concept(codes.OBSERVATION_CATEGORY, category)],
            "code": code,
            "subject": self.patient,
            "encounter": self.encounter,
            "effectiveDateTime": self.timestamp,
            **value,
        }
        return self._add("Observation", content)

    def _vital_sign(self, entity: Entity) -> dict | None:
        value = entity.value.strip()
        if not value:
            return None  # named but not measured: nothing to observe
        name = entity.attributes.get("name", "").strip() or entity.text
        loinc = codes.VITAL_CODES.get(name)
        code = _concept(codes.LOINC, loinc, name) if loinc else {"text": name}
        category = Code("vital-signs", "Vital Signs")
        pair = _BLOOD_PRESSURE.fullmatch(value)
        if name == codes.BLOOD_PRESSURE and pair:
            components = [
                {"code": _concept(codes.LOINC, part), "valueQuantity": _quantity(number, entity.unit)}
                for part, number in ((codes.SYSTOLIC, pair.group(1)), (codes.DIASTOLIC, pair.group(2)))
            ]
            return self._observation(category, code, {"component": components})
        return self._observation(category, code, _value(value, entity.unit))

    def _result(self, entity: Entity) -> dict | None:
        result = entity.value.strip() or entity.attributes.get("result", "").strip()
        if not result:
            return None  # an examination named (or ordered) without a result
        category = Code("laboratory", "Laboratory") if entity.type == "lab_test" else Code("exam", "Exam")
        return self._observation(category, {"text": entity.text}, _value(result, entity.unit))

    def _drug(self, entity: Entity, section: str) -> dict | None:
        medication = {"text": entity.text}
        dosage = _dosage(entity)
        if section in ORDER_SECTIONS:
            if entity.negated:
                return None  # a drug not to give is not an order
            request = {
                "status": "draft" if self.draft else "active",
                "intent": "order",
                "medicationCodeableConcept": medication,
                "subject": self.patient,
                "encounter": self.encounter,
                "authoredOn": self.timestamp,
                "dosageInstruction": [dosage],
            }
            return self._add("MedicationRequest", request)
        statement = {
            "status": "not-taken" if entity.negated else "active",
            "medicationCodeableConcept": medication,
            "subject": self.patient,
            "context": self.encounter,
            "dateAsserted": self.timestamp,
            "dosage": [dosage],
        }
        return self._add("MedicationStatement", statement)

    def _allergy(self, entity: Entity) -> dict:
        substance = entity.attributes.get("substance", "").strip()
        no_known = codes.no_known_allergy(substance) if entity.negated else None
        category = ""
        if no_known is not None:  # 否认药物过敏史: the standard "no known drug allergy", asserted
            known, category = no_known
            code = _concept(codes.SNOMED, known, entity.text)
            verification = "unconfirmed" if self.draft else "confirmed"
            clinical = Code("active", "Active")
        else:
            code = {"text": substance or entity.text}
            if entity.negated:  # 否认青霉素过敏: that allergy is refuted
                # ait-1 asks a clinical status of every allergy not entered in error; inactive: no risk now.
                verification, clinical = "refuted", Code("inactive", "Inactive")
            else:
                verification, clinical = ("unconfirmed" if self.draft else "confirmed"), Code("active", "Active")
        reaction = entity.attributes.get("reaction", "").strip()
        return {
            "clinicalStatus": _concept(codes.ALLERGY_CLINICAL, clinical),
            "verificationStatus": _concept(codes.ALLERGY_VERIFICATION, Code(verification, verification.title())),
            "category": [category],
            "code": code,
            "patient": self.patient,
            "encounter": self.encounter,
            "recordedDate": self.timestamp,
            "reaction": [{"manifestation": [{"text": reaction}]}] if reaction else None,
        }


def _dosage(entity: Entity) -> dict:
    """A drug's Dosage: the whole instruction as text, and dose, route, frequency and course as structure."""
    attributes = {k: v.strip() for k, v in entity.attributes.items()}
    dose = f"{attributes.get('dose', '')}{attributes.get('unit', '')}"
    route, how_often, course = (attributes.get(k, "") for k in ("route", "frequency", "duration"))
    instruction = " ".join(part for part in (entity.text, dose, route, how_often, course) if part)
    frequency = codes.frequency(how_often) if how_often else None
    repeat: dict[str, Any] = {}
    if frequency is not None:
        repeat = {
            "frequency": frequency.frequency or None,
            "period": frequency.period or None,
            "periodUnit": frequency.period_unit,
            "when": [frequency.when],
        }
    if course and (length := codes.duration(course)):
        repeat["boundsDuration"] = {"value": length[0], "unit": length[1], "system": codes.UCUM, "code": length[1]}
    abbreviation = frequency.abbreviation if frequency else ""
    timing = {
        "code": {
            "coding": [{"system": codes.TIMING_ABBREVIATION, "code": abbreviation}] if abbreviation else None,
            "text": how_often,
        },
        "repeat": repeat,
    }
    route_code = codes.ROUTE_CODES.get(route.lower())
    return {
        "text": instruction,
        "timing": timing,
        "asNeededBoolean": True if frequency and frequency.as_needed else None,
        "route": _concept(codes.SNOMED, route_code, route) if route_code else {"text": route},
        "doseAndRate": [{"doseQuantity": _dose(attributes.get("dose", ""), attributes.get("unit", ""))}],
    }


def _dose(dose: str, unit: str) -> dict | None:
    m = _DOSE.fullmatch(dose)
    if m is None:
        return None
    return _quantity(m.group(1), unit or m.group(2))  # a unit written into the dose (0.5g) counts too


def _value(value: str, unit: str) -> dict:
    """An observation's value: a Quantity for a number, else the text."""
    if DIGIT_NUMBER.fullmatch(value):
        return {"valueQuantity": _quantity(value, unit)}
    return {"valueString": f"{value}{unit}"}


def _quantity(number: str, unit: str) -> dict:
    """A Quantity of a written number and unit, with the UCUM code where the unit has one."""
    unit = unit.strip()
    code = codes.ucum(unit)
    value: int | float = float(number) if "." in number else int(number)
    return {"value": value, "unit": unit, "system": codes.UCUM if code else None, "code": code}


def _concept(system: str, code: Code, text: str = "") -> dict:
    """A CodeableConcept of one coding (and the record's own words as its text, when given)."""
    return {"coding": [{"system": system, "code": code.code, "display": code.display}], "text": text}


def _narrative(lines: list[str]) -> dict:
    """A generated narrative: one XHTML paragraph per statement, escaped."""
    paragraphs = "".join(f"<p>{html.escape(_NOT_XML.sub('', line))}</p>" for line in lines)
    return {"status": "generated", "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{paragraphs}</div>'}


def _compact(value: Any) -> Any:
    """``value`` without its empty parts (None, "", [] and {}, recursively): FHIR allows no empty elements."""
    if isinstance(value, dict):
        items = ((k, _compact(v)) for k, v in value.items())
        return {k: v for k, v in items if v not in (None, "", [], {})}
    if isinstance(value, list):
        return [v for v in map(_compact, value) if v not in (None, "", [], {})]
    return value
