"""A doctor's corrections of a record: a section rewritten (or removed), and the draft confirmed."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from shenggu.errors import InvalidOptionError
from shenggu.solutions.medical.entities import extract_entities
from shenggu.solutions.medical.lexicon import MedicalLexicon
from shenggu.solutions.medical.record import SECTIONS, MedicalRecord, Statement


def check_sections(names: Iterable[str]) -> None:
    """InvalidOptionError naming the section names that are not among :data:`SECTIONS`."""
    unknown = [name for name in names if name not in SECTIONS]
    if unknown:
        raise InvalidOptionError(
            f"unknown section(s): {', '.join(n[:20] for n in unknown[:5])} (sections: {', '.join(SECTIONS)})"
        )


def apply_corrections(
    record: MedicalRecord,
    sections: Mapping[str, str],
    confirm: bool = False,
    lexicon: MedicalLexicon | None = None,
) -> MedicalRecord:
    """``record`` with each named section replaced by one statement of the doctor's text (source ``edit``, its
    entities extracted again; an empty text removes the section) and, with ``confirm``, no longer a draft.

    The review flags of a rewritten section go with it: the doctor has looked at that section. Unknown section
    names raise InvalidOptionError before anything changes."""
    check_sections(sections)
    for name, text in sections.items():
        text = text.strip()
        record.sections = [s for s in record.sections if s.name != name]
        record.needs_review = [f for f in record.needs_review if f.section != name]
        if text:
            record.section(name).statements.append(Statement(text, extract_entities(text, lexicon), source="edit"))
    if not record.empty:
        record.reason = ""  # the doctor wrote what the recording lacked
    if confirm:
        record.draft = False
    return record
