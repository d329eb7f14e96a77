"""Saved transcripts: ``/v1/transcripts`` (the request bodies, with their limits, and the responses)."""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from shenggu.service.fields import readable_text
from shenggu.service.schemas import ResponseBody
from shenggu.service.storage.models import INT32_MAX
from shenggu.service.storage.names import CONTROL_CHARACTERS

MAX_SEGMENTS = 20_000
MAX_WORDS = 200_000  # of a transcript, all segments together
MAX_SEGMENT_CHARS = 5_000
MAX_TEXT_CHARS = 2_000_000  # of a transcript, all segments together
MAX_SECONDS = 7 * 24 * 3600.0  # the latest time a transcript may give (a week of audio)

# --------------------------------------------------------------------------------------------------------
# Requests
# --------------------------------------------------------------------------------------------------------


def _unicode(text: str) -> str:
    # An unpaired surrogate (a JSON escape such as \ud800) is not text: it could be stored but never sent back.
    if any("\ud800" <= ch <= "\udfff" for ch in text):
        raise ValueError("text has unpaired surrogate characters (not valid Unicode)")
    return text


def _label(text: str) -> str:
    """A one-line label: readable, without control characters."""
    if CONTROL_CHARACTERS.search(readable_text(text)):
        raise ValueError("control characters (line breaks, tabs...) are not allowed here")
    return text


Seconds = Annotated[float, Field(ge=0, le=MAX_SECONDS, allow_inf_nan=False)]
SegmentText = Annotated[str, Field(max_length=MAX_SEGMENT_CHARS), AfterValidator(_unicode)]
TranscriptName = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_label)]
SpeakerLabel = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_label)]
Language = Annotated[str, Field(pattern=r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8}){0,3}$", max_length=32)]


class _Timed(BaseModel):
    """Something with a time span in seconds from the start of the audio; it may not end before it starts."""

    model_config = ConfigDict(strict=True, extra="forbid")

    start: Seconds
    end: Seconds

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.start > self.end:
            raise ValueError(f"start ({self.start:g}) is after end ({self.end:g})")
        return self


class WordBody(_Timed):
    """One word (or Chinese character) with its times."""

    word: Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_unicode)]


class SegmentBody(_Timed):
    """One segment: its times, its text (corrected), optionally who spoke and its words' times."""

    text: SegmentText
    speaker: SpeakerLabel | None = None
    # A word per character at most, as the text caps the words it can hold.
    words: list[WordBody] = Field(default_factory=list, max_length=MAX_SEGMENT_CHARS)


class SourceBody(BaseModel):
    """Where the transcript came from: the recognition job, the file's name (both optional)."""

    model_config = ConfigDict(strict=True, extra="forbid")

    job_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")] | None = None
    file: Annotated[str, Field(max_length=300), AfterValidator(_label)] | None = None


def _check_totals(segments: list[SegmentBody] | None) -> None:
    if segments is None:
        return
    if (chars := sum(len(s.text) for s in segments)) > MAX_TEXT_CHARS:
        raise ValueError(f"segments hold {chars} characters of text; the limit is {MAX_TEXT_CHARS}")
    if (words := sum(len(s.words) for s in segments)) > MAX_WORDS:
        raise ValueError(f"segments hold {words} words; the limit is {MAX_WORDS}")


_SEGMENTS_DESCRIPTION = (
    f"In order of time, as the editor shows them: at most {MAX_SEGMENTS} segments, {MAX_SEGMENT_CHARS} characters "
    f"each and {MAX_TEXT_CHARS} in all, {MAX_WORDS} words in all; times in seconds (0 to {MAX_SECONDS:g}), start "
    "not after end."
)


class TranscriptBody(BaseModel):
    """A transcript to save: its name, language, the audio's length, where it came from, and its segments."""

    model_config = ConfigDict(strict=True, extra="forbid")

    name: TranscriptName = Field(examples=["客服通话 2024-03-05"])
    language: Language | None = Field(None, examples=["zh"])
    duration: Seconds | None = Field(None, description="The audio's length in seconds.")
    source: SourceBody | None = None
    segments: list[SegmentBody] = Field(
        max_length=MAX_SEGMENTS,
        description=_SEGMENTS_DESCRIPTION,
        examples=[[{"start": 0.0, "end": 2.4, "text": "您好，请问有什么可以帮您？", "speaker": "客服"}]],
    )

    @model_validator(mode="after")
    def _totals(self) -> Self:
        _check_totals(self.segments)
        return self


class TranscriptUpdate(BaseModel):
    """A save over a stored transcript: each field sent replaces the stored one (``null`` clears ``language``,
    ``duration`` and ``source``), a field left out keeps its value. With ``revision`` (the one the editor loaded)
    the save is refused with 409 if another save came since."""

    model_config = ConfigDict(strict=True, extra="forbid")

    name: TranscriptName | None = None
    language: Language | None = None
    duration: Seconds | None = None
    source: SourceBody | None = None
    segments: list[SegmentBody] | None = Field(None, max_length=MAX_SEGMENTS, description=_SEGMENTS_DESCRIPTION)
    revision: int | None = Field(None, ge=1, le=INT32_MAX, description="The revision the editor loaded.")

    @model_validator(mode="after")
    def _complete(self) -> Self:
        for required in ("name", "segments"):
            if required in self.model_fields_set and getattr(self, required) is None:
                raise ValueError(f"{required} cannot be null (leave it out to keep it)")
        if not self.model_fields_set - {"revision"}:
            raise ValueError("nothing to save: send name, segments, language, duration or source")
        _check_totals(self.segments)
        return self

    def changes(self) -> dict:
        """The fields sent, as the stored transcript keeps them (``revision`` is not one)."""
        return self.model_dump(include=self.model_fields_set - {"revision"})


# --------------------------------------------------------------------------------------------------------
# Responses
# --------------------------------------------------------------------------------------------------------


class TranscriptWord(ResponseBody):
    """A word and its times (seconds)."""

    start: float
    end: float
    word: str


class TranscriptSegment(ResponseBody):
    """A segment: times (seconds), text, who spoke (null if not known) and its words (empty if not timed)."""

    start: float
    end: float
    text: str
    speaker: str | None
    words: list[TranscriptWord]


class TranscriptSource(ResponseBody):
    """Where the transcript came from (null: not said)."""

    job_id: str | None
    file: str | None


class TranscriptSummary(ResponseBody):
    """A saved transcript without its segments. ``revision`` counts the saves (1 when created)."""

    id: str
    name: str
    language: str | None
    duration: float | None
    source: TranscriptSource | None
    created_at: str
    updated_at: str
    revision: int
    segment_count: int


class TranscriptView(TranscriptSummary):
    """A saved transcript with its segments."""

    segments: list[TranscriptSegment]


class Transcripts(ResponseBody):
    """A page of the caller's saved transcripts, newest first."""

    object: Literal["list"]
    data: list[TranscriptSummary]
    total: int
    limit: int
    offset: int
