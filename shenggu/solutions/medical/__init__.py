"""Voice electronic medical records (语音电子病历): dictation and doctor–patient consultations → a structured
clinical record (sections, typed entities with normalized values, ICD-10 codes), checked so that it holds no
value the speech did not, exported as JSON, an HL7 FHIR R4 Bundle, DOCX and PDF."""

from shenggu.solutions.medical.consultation import draft_consultation, utterances_of
from shenggu.solutions.medical.dictation import DictationBuilder, dictate_text
from shenggu.solutions.medical.entities import extract_entities
from shenggu.solutions.medical.grounding import ground_record, ungrounded_values
from shenggu.solutions.medical.lexicon import MedicalLexicon, medical_lexicon
from shenggu.solutions.medical.numbers import normalize_clinical
from shenggu.solutions.medical.record import (
    SECTIONS,
    Entity,
    MedicalRecord,
    ReviewFlag,
    Section,
    SourceUtterance,
    Statement,
)

__all__ = [
    "SECTIONS",
    "DictationBuilder",
    "Entity",
    "MedicalLexicon",
    "MedicalRecord",
    "ReviewFlag",
    "Section",
    "SourceUtterance",
    "Statement",
    "dictate_text",
    "draft_consultation",
    "extract_entities",
    "ground_record",
    "medical_lexicon",
    "normalize_clinical",
    "ungrounded_values",
    "utterances_of",
]
