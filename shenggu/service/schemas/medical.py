"""Clinical records: ``/v1/medical/records`` (the request bodies of its JSON routes, and its responses)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from shenggu.service.fields import readable_text
from shenggu.service.schemas import ResponseBody
from shenggu.service.schemas.jobs import JobError

MAX_TEXT_CHARS = 20_000  # of a text, a dialogue or a correction, all turns or sections together
MAX_TURNS = 1000

# --------------------------------------------------------------------------------------------------------
# Requests
# --------------------------------------------------------------------------------------------------------


def _valid_unicode(text: str) -> str:
    # Blank passes here: the route refuses an empty text with a 400 that names its field.
    return readable_text(text) if text.strip() else text


UnicodeText = Annotated[str, AfterValidator(_valid_unicode)]


class DialogueTurn(BaseModel):
    """One turn of a consultation: who spoke, and what they said."""

    model_config = ConfigDict(extra="forbid")

    role: Literal["doctor", "patient"]
    text: UnicodeText


class RecordFromText(BaseModel):
    """A record made from text at once: ``dictation`` (a dictated transcript: section names and spoken commands
    are obeyed), ``text`` (typed notes, read the same way) or ``consultation`` (a doctor–patient dialogue)."""

    model_config = ConfigDict(extra="forbid")

    mode: Literal["dictation", "consultation", "text"]
    text: UnicodeText | None = Field(
        None,
        description=f"dictation and text modes; at most {MAX_TEXT_CHARS} characters.",
        examples=["主诉，发热三天。"],
    )
    dialogue: list[DialogueTurn] | None = Field(
        None,
        description=f"consultation mode: the turns in order (at most {MAX_TURNS}, {MAX_TEXT_CHARS} characters).",
        examples=[[{"role": "doctor", "text": "哪里不舒服？"}, {"role": "patient", "text": "发烧三天了。"}]],
    )
    llm_fill: bool = Field(
        False,
        description="consultation mode: the bundled language model drafts the sections the extractive drafter left "
        "empty; a value it writes that the dialogue does not hold is dropped and listed in needs_review.",
    )


class RecordCorrections(BaseModel):
    """A doctor's corrections: each section named is replaced by the text given (an empty text removes it);
    ``confirm`` marks a drafted record as confirmed."""

    model_config = ConfigDict(extra="forbid")

    sections: dict[UnicodeText, UnicodeText] = Field(
        default_factory=dict,
        description="Section name (主诉, 现病史, 既往史, 过敏史, 个人史, 体格检查, 辅助检查, 初步诊断, 处理意见, "
        "医嘱) → its new text; an empty text removes the section.",
        examples=[{"主诉": "发热伴咳嗽3天。"}],
    )
    confirm: bool = False


# --------------------------------------------------------------------------------------------------------
# Responses: the record (``MedicalRecord.to_dict``), and the stored record around it
# --------------------------------------------------------------------------------------------------------


class RecordEntity(ResponseBody):
    """A typed mention in a statement (offsets into the statement's text; value and unit normalized)."""

    type: str
    text: str
    start: int
    end: int
    value: str
    unit: str
    negated: bool
    code: str = Field(description="ICD-10 code of a diagnosis, where known.")
    attributes: dict[str, str]


class RecordStatement(ResponseBody):
    """One sentence of a section, with its entities, times (seconds) and source utterances."""

    text: str
    entities: list[RecordEntity]
    start: float | None
    end: float | None
    utterances: list[int]
    source: str = Field(description="dictation, consultation, text, llm or edit (a doctor's correction).")


class RecordSection(ResponseBody):
    """A section of the record and its statements (``text``: the statements joined)."""

    name: str
    statements: list[RecordStatement]
    text: str


class RecordReviewFlag(ResponseBody):
    """Something the doctor must check."""

    reason: str
    section: str
    value: str


class RecordUtterance(ResponseBody):
    """A turn of the recording or dialogue the record was built from."""

    text: str
    role: str
    speaker: str | None
    start: float | None
    end: float | None


class ClinicalRecord(ResponseBody):
    """The structured record: sections in print order, what to review, the source turns. ``draft`` until a
    doctor confirms a consultation's record; ``reason`` says why a record has no sections."""

    mode: str
    sections: list[RecordSection]
    utterances: list[RecordUtterance]
    needs_review: list[RecordReviewFlag]
    draft: bool
    reason: str
    transcript: str
    duration: float


class MedicalRecordAccepted(ResponseBody):
    """A recording accepted: its record is made by the job; poll ``GET /v1/medical/records/{id}``."""

    id: str
    object: Literal["medical.record"]
    status: str
    job_id: str


class MedicalRecordSummary(ResponseBody):
    """A stored record without its content: ``status`` is its job's while the job runs; ``version`` counts
    corrections (1 before any)."""

    id: str
    object: Literal["medical.record"]
    status: str
    version: int
    mode: str
    job_id: str | None
    created_at: str
    updated_at: str


class MedicalRecordView(MedicalRecordSummary):
    """A stored record: ``record`` once made (null while its job is queued or running), ``error`` when its
    job failed."""

    record: ClinicalRecord | None
    error: JobError | None


class MedicalRecords(ResponseBody):
    """A page of the caller's records, newest first."""

    object: Literal["list"]
    data: list[MedicalRecordSummary]
    total: int
    limit: int
    offset: int
