"""Never an invented value: every number, unit, drug name, diagnosis and negation in a statement must be found
in the transcript it claims to come from. A clause holding a value that is not there is dropped and flagged
``needs_review`` (the statement keeps its other clauses), as the translation self-checks do."""

from __future__ import annotations

import re

from shenggu.solutions.medical.entities import extract_entities
from shenggu.solutions.medical.lexicon import MedicalLexicon
from shenggu.solutions.medical.numbers import normalize_clinical
from shenggu.solutions.medical.patterns import CLAUSE_END, canonical_unit
from shenggu.solutions.medical.record import Entity, MedicalRecord, ReviewFlag, Statement
from shenggu.text.digits import written_numbers

_UNIT = re.compile(r"mmHg|℃|次/分|IU|mg|μg|ug|ml|kg|cm|mm|(?<=\d)g|(?<=\d)L|%", re.IGNORECASE)
_CLAUSE = re.compile(f"[^{CLAUSE_END}]+[{CLAUSE_END}]*")


def _numbers(text: str) -> set[str]:
    return set(written_numbers(text))


def _units(text: str) -> set[str]:
    return {canonical_unit(u) if u.lower() != "mmhg" else "mmHg" for u in _UNIT.findall(text)}


def ungrounded_values(text: str, transcript: str, lexicon: MedicalLexicon | None = None) -> list[str]:
    """The values of ``text`` that ``transcript`` does not hold: numbers, units, drug and diagnosis names, and
    negated mentions the transcript does not deny (both sides in clinical written form)."""
    source = normalize_clinical(transcript)
    text = normalize_clinical(text)
    missing = sorted(_numbers(text) - _numbers(source))
    missing += sorted(_units(text) - _units(source))
    denied = {_key(e) for e in extract_entities(source, lexicon) if e.negated}
    for entity in extract_entities(text, lexicon):
        if entity.type in ("drug", "diagnosis") and not entity.negated and entity.text not in source:
            missing.append(entity.text)
        elif entity.negated and _key(entity) not in denied:
            missing.append(f"否定：{entity.text}")
    return missing


def _key(entity: Entity) -> tuple[str, str]:
    return entity.type, entity.attributes.get("substance", entity.text)


def ground_statement(
    statement: Statement, transcript: str, section: str, lexicon: MedicalLexicon | None = None
) -> tuple[Statement | None, list[ReviewFlag]]:
    """The statement without its clauses that hold ungrounded values (None when nothing is left), and a flag
    for each value dropped."""
    kept, flags = [], []
    for clause in _CLAUSE.findall(statement.text):
        missing = ungrounded_values(clause, transcript, lexicon)
        if missing:
            flags += [ReviewFlag("value not found in the transcript: dropped", section, value) for value in missing]
        else:
            kept.append(clause)
    if not "".join(kept).strip(CLAUSE_END + " "):
        return None, flags
    text = "".join(kept)
    grounded = Statement(text, extract_entities(text, lexicon), statement.start, statement.end, statement.utterances)
    grounded.source = statement.source
    return grounded, flags


def ground_record(
    record: MedicalRecord, sources: tuple[str, ...] = ("llm",), lexicon: MedicalLexicon | None = None
) -> None:
    """Check the statements of the given sources against the record's transcript, in place: ungrounded clauses
    are dropped and flagged in ``record.needs_review``."""
    for section in record.sections:
        statements = []
        for statement in section.statements:
            if statement.source not in sources:
                statements.append(statement)
                continue
            grounded, flags = ground_statement(statement, record.transcript, section.name, lexicon)
            record.needs_review += flags
            if grounded is not None:
                statements.append(grounded)
        section.statements = statements
    record.sections = [s for s in record.sections if s.statements]
