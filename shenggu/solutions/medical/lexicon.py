"""The bundled medical lexicon (``data/``): terms by entity type, ICD-10 codes of diagnoses, and the medical
hotword list recognition uses by default. Written for shenggu from general medical knowledge (see the files'
headers); a tenant's own terms extend it per request."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources

from shenggu.lazy import once

# File → entity type. Allergens are not entities of their own: they name the substance of an allergy.
_FILES: dict[str, str] = {
    "drugs.txt": "drug",
    "diagnoses.tsv": "diagnosis",
    "symptoms.txt": "symptom",
    "anatomy.txt": "body_part",
    "examinations.txt": "examination",
    "lab_tests.txt": "lab_test",
    "procedures.txt": "procedure",
    "allergens.txt": "allergen",
}
# Recognition favours the words a dictation is most likely to get wrong and a record most needs right.
HOTWORD_TYPES = ("drug", "diagnosis", "examination", "lab_test", "procedure", "symptom")


@dataclass(frozen=True)
class MedicalLexicon:
    """Terms by entity type (``term → type``; a term in several files keeps the first type of ``_FILES``),
    ICD-10 codes by diagnosis name, and the longest term's length (for matching)."""

    types: Mapping[str, str]
    icd10: Mapping[str, str] = field(default_factory=dict)

    @property
    def longest(self) -> int:
        """Length of the longest term."""
        return max(map(len, self.types), default=0)

    def terms(self, type_: str) -> list[str]:
        """The terms of one type."""
        return [term for term, kind in self.types.items() if kind == type_]

    def extended(self, extra: Mapping[str, str]) -> MedicalLexicon:
        """This lexicon plus ``extra`` (term → type, e.g. a tenant's drug list); extra terms win."""
        return MedicalLexicon({**self.types, **extra}, self.icd10)

    def hotwords(self) -> list[str]:
        """The medical vocabulary handed to recognition (homophone correction restores these spellings)."""
        return [term for term, kind in self.types.items() if kind in HOTWORD_TYPES and len(term) >= 2]


def _lines(name: str) -> Iterable[list[str]]:
    text = resources.files("shenggu.solutions.medical").joinpath("data", name).read_text(encoding="utf-8")
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            yield [part.strip() for part in line.split("\t")]


@once
def medical_lexicon() -> MedicalLexicon:
    """The bundled lexicon (read once per process)."""
    types: dict[str, str] = {}
    icd10: dict[str, str] = {}
    for name, kind in _FILES.items():
        for parts in _lines(name):
            types.setdefault(parts[0], kind)
            if kind == "diagnosis" and len(parts) > 1 and parts[1]:
                icd10[parts[0]] = parts[1]
    return MedicalLexicon(types, icd10)
