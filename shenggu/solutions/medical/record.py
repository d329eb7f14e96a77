"""The structured clinical record (电子病历): sections of statements, each with its typed entities and the
utterances it came from, plus what a doctor must review."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

# The sections of an outpatient record, in the order they are printed.
SECTIONS: tuple[str, ...] = (
    "主诉",
    "现病史",
    "既往史",
    "过敏史",
    "个人史",
    "体格检查",
    "辅助检查",
    "初步诊断",
    "处理意见",
    "医嘱",
)

EntityType = Literal[
    "symptom", "vital_sign", "drug", "allergy", "examination", "lab_test", "diagnosis", "procedure", "body_part"
]
ENTITY_TYPES: tuple[str, ...] = EntityType.__args__  # type: ignore[attr-defined]
RecordMode = Literal["dictation", "consultation", "text"]


@dataclass
class Entity:
    """A typed mention inside a statement.

    ``start``/``end`` are character offsets into the statement's text (end exclusive). ``value`` and ``unit`` are
    normalized as clinicians write them (``38.5`` ``℃``; ``120/80`` ``mmHg``); ``attributes`` hold the rest by
    type: a drug's ``dose``, ``unit``, ``route``, ``frequency``, ``duration``; a symptom's ``duration``; an
    examination's ``result``. ``negated`` marks a mention the text denies (否认药物过敏, 无发热). ``code`` is an
    ICD-10 code of a diagnosis where the bundled list has one."""

    type: str
    text: str
    start: int
    end: int
    value: str = ""
    unit: str = ""
    negated: bool = False
    code: str = ""
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass
class Statement:
    """One sentence of a section, with the times (seconds) and the indexes of the utterances it came from."""

    text: str
    entities: list[Entity] = field(default_factory=list)
    start: float | None = None
    end: float | None = None
    utterances: list[int] = field(default_factory=list)
    source: Literal["dictation", "consultation", "text", "llm", "edit"] = "text"


@dataclass
class Section:
    """A named section (one of :data:`SECTIONS`) and its statements."""

    name: str
    statements: list[Statement] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The statements joined as the record prints them."""
        return "".join(s.text for s in self.statements)


@dataclass
class ReviewFlag:
    """Something the doctor must look at: a value dropped because the transcript does not hold it, a statement
    the drafter was unsure of. ``section`` is empty for record-wide flags."""

    reason: str
    section: str = ""
    value: str = ""


@dataclass
class SourceUtterance:
    """A turn of the recording or dialogue the record was built from (``role``: doctor, patient or empty)."""

    text: str
    role: str = ""
    speaker: str | None = None
    start: float | None = None
    end: float | None = None


@dataclass
class MedicalRecord:
    """A clinical record. ``draft`` is true for a consultation's record until a doctor confirms it; ``reason``
    says why a record is empty (no medical content found); ``transcript`` is the text every value was checked
    against."""

    mode: str
    sections: list[Section] = field(default_factory=list)
    utterances: list[SourceUtterance] = field(default_factory=list)
    needs_review: list[ReviewFlag] = field(default_factory=list)
    draft: bool = False
    reason: str = ""
    transcript: str = ""
    duration: float = 0.0

    def section(self, name: str) -> Section:
        """The section called ``name``, added (in :data:`SECTIONS` order) if the record has none yet."""
        for section in self.sections:
            if section.name == name:
                return section
        section = Section(name)
        self.sections.append(section)
        order = {n: i for i, n in enumerate(SECTIONS)}
        self.sections.sort(key=lambda s: order.get(s.name, len(order)))
        return section

    def statements_of(self, name: str) -> list[Statement]:
        """The statements of section ``name`` (empty when the record has no such section; nothing is added)."""
        return next((s.statements for s in self.sections if s.name == name), [])

    def entities(self, type_: str | None = None) -> list[Entity]:
        """All entities of the record (of one type when ``type_`` is given), in section order."""
        return [
            e for s in self.sections for st in s.statements for e in st.entities if type_ is None or e.type == type_
        ]

    @property
    def empty(self) -> bool:
        """True when no section holds a statement."""
        return not any(s.statements for s in self.sections)

    def to_dict(self) -> dict:
        """The JSON shape (``asdict`` with the section texts added for readers that want only the prose)."""
        data = asdict(self)
        for section, out in zip(self.sections, data["sections"], strict=True):
            out["text"] = section.text
        return data

    @classmethod
    def from_dict(cls, data: dict) -> MedicalRecord:
        """Rebuild a record from :meth:`to_dict` output (a stored or corrected record)."""
        sections = [
            Section(
                s["name"],
                [
                    Statement(
                        **{
                            **st,
                            "entities": [Entity(**e) for e in st.get("entities", [])],
                            "utterances": list(st.get("utterances", [])),
                        }
                    )
                    for st in s.get("statements", [])
                ],
            )
            for s in data.get("sections", [])
        ]
        return cls(
            mode=data.get("mode", "text"),
            sections=sections,
            utterances=[SourceUtterance(**u) for u in data.get("utterances", [])],
            needs_review=[ReviewFlag(**f) for f in data.get("needs_review", [])],
            draft=bool(data.get("draft", False)),
            reason=data.get("reason", ""),
            transcript=data.get("transcript", ""),
            duration=float(data.get("duration", 0.0)),
        )
