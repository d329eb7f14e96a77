"""The bundled medical lexicon (shenggu/solutions/medical/data): every file parses, holds no duplicates, says
where it came from and under which licence, declares its single-character terms, and every diagnosis carries a
well-formed WHO ICD-10 code."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

import shenggu
from shenggu.text.chinese import to_simplified

DATA = Path(shenggu.__file__).parent / "solutions" / "medical" / "data"

# The fewest terms (lines, for diagnoses) each file must hold.
MINIMUMS = {
    "drugs.txt": 400,
    "diagnoses.tsv": 250,
    "symptoms.txt": 200,
    "anatomy.txt": 250,
    "examinations.txt": 100,
    "lab_tests.txt": 150,
    "procedures.txt": 150,
    "allergens.txt": 40,
}
ICD10 = re.compile(r"[A-Z][0-9]{2}(\.[0-9]{1,2})?")
SINGLES = re.compile(r"#\s*Single-character terms kept:\s*(.*)")
# Punctuation that never belongs inside a term: it would mean two terms on one line or a stray note.
FORBIDDEN = re.compile(r"[，,、；;：。（）()【】\[\]“”\"]")
# Allergens deliberately repeat drug names (青霉素 is a drug in 医嘱 and an allergen in 过敏史).
MAY_SHARE = frozenset({"drugs.txt", "allergens.txt"})


@dataclass
class Entry:
    """One term line of a lexicon file (``fields`` are its tab-separated columns)."""

    line: int
    fields: list[str]

    @property
    def term(self) -> str:
        return self.fields[0]


@dataclass
class Lexicon:
    """A parsed file: the comment lines before its first term, and its terms."""

    header: list[str]
    entries: list[Entry]


def parse(name: str) -> Lexicon:
    """Read a lexicon file the way the lexicon says it is written: UTF-8, ``#`` comments, blank lines ignored."""
    header: list[str] = []
    entries: list[Entry] = []
    for number, raw in enumerate((DATA / name).read_text(encoding="utf-8").splitlines(), 1):
        if raw.startswith("#"):
            if not entries:
                header.append(raw)
            continue
        if raw.strip():
            entries.append(Entry(number, raw.split("\t")))
    return Lexicon(header, entries)


@pytest.fixture(scope="module")
def lexicons() -> dict[str, Lexicon]:
    return {name: parse(name) for name in MINIMUMS}


def test_no_unexpected_files():
    # A file the tests do not know would be shipped unchecked.
    assert sorted(p.name for p in DATA.iterdir() if p.is_file()) == sorted(MINIMUMS)


@pytest.mark.parametrize("name", sorted(MINIMUMS))
def test_file_holds_at_least_the_minimum(lexicons, name):
    assert len(lexicons[name].entries) >= MINIMUMS[name]


@pytest.mark.parametrize("name", sorted(MINIMUMS))
def test_header_says_provenance_and_licence(lexicons, name):
    header = " ".join(lexicons[name].header)
    assert "shenggu" in header
    assert "general medical knowledge" in header
    assert "Apache-2.0" in header
    if name == "diagnoses.tsv":
        assert "WHO ICD-10" in header


@pytest.mark.parametrize("name", sorted(MINIMUMS))
def test_terms_are_clean(lexicons, name):
    columns = 2 if name.endswith(".tsv") else 1
    for entry in lexicons[name].entries:
        where = f"{name}:{entry.line}: {entry.fields!r}"
        assert len(entry.fields) == columns, where
        assert all(f and f == f.strip() for f in entry.fields), where
        assert not FORBIDDEN.search(entry.term), where
        # Recognized speech is simplified with OpenCC before matching: a term it would change never matches.
        assert to_simplified(entry.term) == entry.term, where


@pytest.mark.parametrize("name", sorted(MINIMUMS))
def test_no_duplicates(lexicons, name):
    seen: dict[str, int] = {}
    for entry in lexicons[name].entries:
        key = entry.term.casefold()  # CA199 and ca199 are one term to a case-insensitive matcher
        assert key not in seen, f"{name}:{entry.line}: {entry.term!r} repeats line {seen[key]}"
        seen[key] = entry.line


def test_diagnosis_codes_are_icd10(lexicons):
    for entry in lexicons["diagnoses.tsv"].entries:
        assert ICD10.fullmatch(entry.fields[1]), f"diagnoses.tsv:{entry.line}: {entry.fields!r}"


@pytest.mark.parametrize("name", sorted(MINIMUMS))
def test_single_character_terms_are_declared(lexicons, name):
    declarations = [m.group(1) for line in lexicons[name].header if (m := SINGLES.match(line))]
    assert len(declarations) == 1, f"{name} must say once which single-character terms it keeps"
    declared = declarations[0].rstrip(".").strip()
    declared_set = set() if declared.startswith("none") else set(declared.split())
    singles = {e.term for e in lexicons[name].entries if len(e.term) == 1}
    assert singles == declared_set, f"{name}: single-character terms {sorted(singles)}, declared {sorted(declared_set)}"


def test_a_term_has_one_entity_type(lexicons):
    # The extractor types a mention by the file it is in; a term in two files would be typed at random.
    files: dict[str, set[str]] = {}
    for name, lexicon in lexicons.items():
        for entry in lexicon.entries:
            files.setdefault(entry.term.casefold(), set()).add(name)
    shared = {term: names for term, names in files.items() if len(names) > 1 and not names <= MAY_SHARE}
    assert not shared, f"terms in more than one file: {shared}"
