"""Call-centre quality inspection: ``/v1/qa/rules`` and ``/v1/qa/inspections`` (the request bodies of their JSON
routes, and their responses). A call and its result have the shapes of :class:`~shenggu.solutions.qa.record.Call`
and :class:`~shenggu.solutions.qa.record.CallResult`; times are seconds from the start of the call."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from shenggu.service.schemas import ResponseBody
from shenggu.service.schemas.jobs import JobError
from shenggu.service.storage.models import INT32_MAX
from shenggu.service.storage.qa import MAX_NOTE_CHARS

MAX_CALLS = 200  # calls sent as JSON in one request
MAX_UTTERANCES = 2000  # per call
MAX_UTTERANCE_CHARS = 5000
MAX_CHARACTERS = 400_000  # of all utterances of a request together
MAX_CALL_SECONDS = 86_400.0
INSPECTION = "qa.inspection"


def _unicode(text: str) -> str:
    # Blank is allowed (a recognizer's empty turn); unpaired surrogates could not be stored or answered.
    if any("\ud800" <= ch <= "\udfff" for ch in text):
        raise ValueError("text has unpaired surrogate characters (not valid Unicode)")
    return text


Text = Annotated[str, AfterValidator(_unicode)]

# --------------------------------------------------------------------------------------------------------
# Requests
# --------------------------------------------------------------------------------------------------------


class RulesetBody(BaseModel):
    """A ruleset as JSON: the name to store it under, and its rules as the text of a rules file (YAML or JSON) or
    as the ruleset object itself (``{name, version, description, rules: [...]}``)."""

    model_config = ConfigDict(extra="forbid")

    name: Text | None = Field(None, max_length=64, description="Default: the ruleset's own name, if it is a valid one.")
    rules: Text | dict[str, Any] = Field(description="A rules file's text (YAML or JSON), or the ruleset object.")
    note: Text = Field("", max_length=MAX_NOTE_CHARS, description="Why this version.")


class ActivateBody(BaseModel):
    """The version to make active again (it is copied to a new version)."""

    model_config = ConfigDict(extra="forbid")

    version: int = Field(ge=1, le=INT32_MAX)


class UtteranceBody(BaseModel):
    """One party's turn of a call."""

    model_config = ConfigDict(extra="forbid")

    role: Literal["agent", "customer"]
    start: float = Field(ge=0, le=MAX_CALL_SECONDS)
    end: float = Field(ge=0, le=MAX_CALL_SECONDS)
    text: Text = Field(max_length=MAX_UTTERANCE_CHARS)
    channel: int | None = Field(None, ge=0, le=64, description="The stereo channel it came from, if any.")
    sentiment: float | None = Field(None, ge=0, le=1, description="P(positive), where another system scored it.")


class CallBody(BaseModel):
    """A call transcribed by another system: utterances with roles and times, and free metadata (agent, queue,
    date...: the scorecards group by them)."""

    model_config = ConfigDict(extra="forbid")

    id: Text = Field("", max_length=200, description="Default: call-1, call-2... in request order.")
    utterances: list[UtteranceBody] = Field(max_length=MAX_UTTERANCES)
    duration: float = Field(0.0, ge=0, le=MAX_CALL_SECONDS, description="At least the end of the last utterance.")
    metadata: dict[Text, Text | int | float | bool | None] = Field(default_factory=dict, max_length=50)


class InspectCallsBody(BaseModel):
    """Calls to judge at once by a ruleset (the tenant's, or a bundled one) at a version (default: the active)."""

    model_config = ConfigDict(extra="forbid")

    rules: Text = Field("bank_default", max_length=64, description="The ruleset's name.")
    version: int | None = Field(None, ge=1, le=INT32_MAX, description="Default: the active version.")
    calls: list[CallBody] = Field(
        min_length=1,
        max_length=MAX_CALLS,
        examples=[
            [
                {
                    "id": "c1",
                    "metadata": {"agent": "A01", "queue": "理财"},
                    "utterances": [
                        {"role": "agent", "start": 0.0, "end": 2.5, "text": "您好，很高兴为您服务。"},
                        {"role": "customer", "start": 3.0, "end": 5.0, "text": "我想问一下理财产品。"},
                    ],
                }
            ]
        ],
    )


# --------------------------------------------------------------------------------------------------------
# Rulesets
# --------------------------------------------------------------------------------------------------------


class RulesetSummary(ResponseBody):
    """A ruleset at its active version: ``title`` and ``label`` are the name and version its text gives itself;
    ``bundled`` for the rulesets every tenant can read (no history, cannot be changed)."""

    name: str
    version: int
    title: str
    label: str
    rule_count: int
    bundled: bool
    created_at: str | None
    note: str


class Rulesets(ResponseBody):
    """The caller's rulesets by name, then the bundled ones."""

    data: list[RulesetSummary]


class RulesetView(RulesetSummary):
    """A ruleset version with its rules (each as a rules file writes it: id, name, kind, weight and the fields of
    its kind); ``format`` is how its stored text is written (yaml or json)."""

    description: str
    format: str
    restored_from: int | None
    active: bool
    rules: list[dict[str, Any]]


class UploadedRuleset(RulesetView):
    """The version an upload made (now active), and the version it replaced (null for a new ruleset)."""

    previous_version: int | None


class RulesetVersionInfo(ResponseBody):
    """One version of a ruleset; ``active`` for the one in use."""

    version: int
    title: str
    label: str
    rule_count: int
    created_at: str | None
    note: str
    restored_from: int | None
    active: bool


class RulesetVersions(ResponseBody):
    """Every version of a ruleset, newest (the active one) first."""

    name: str
    bundled: bool
    data: list[RulesetVersionInfo]


# --------------------------------------------------------------------------------------------------------
# Inspections: a call and its result (``Call`` and ``CallResult``), the batch around them
# --------------------------------------------------------------------------------------------------------


class QaUtterance(ResponseBody):
    """One party's turn, as inspected."""

    role: str
    start: float
    end: float
    text: str
    channel: int | None = None
    sentiment: float | None = None


class QaCall(ResponseBody):
    """The call as inspected (for a recording: what recognition heard, each utterance with its party)."""

    utterances: list[QaUtterance]
    duration: float
    metadata: dict[str, Any]
    id: str


class QaEvidence(ResponseBody):
    """Where a finding is: the utterance's index and text, the time to listen from (and to, for a span); for a
    recording, ``audio_url`` plays that moment (the call's ``audio_url`` with ``#t=START[,END]``)."""

    utterance: int
    time: float
    text: str
    end: float | None = None
    detail: str = ""
    audio_url: str | None = Field(
        None, description="The recording from this moment: /v1/qa/inspections/{id}/audio/{item}#t=START[,END]."
    )


class QaRuleResult(ResponseBody):
    """One rule's verdict on the call; ``applicable`` false where its ``applies_if`` words were not said."""

    rule_id: str
    name: str
    kind: str
    passed: bool
    weight: float
    evidence: list[QaEvidence]
    reason: str
    scoring: bool
    tags: list[str]
    applicable: bool


class QaTalkRatios(ResponseBody):
    """Shares of the call's duration."""

    agent: float
    customer: float
    silence: float
    overtalk: float


class QaCallResult(ResponseBody):
    """A call's inspection: its score out of 100, each rule's result, talk ratios, tags, the ruleset (name and
    version) that judged it, each party's sentiment over time (``[start, P(positive)]``), and a summary where one
    was written."""

    score: float
    rules: list[QaRuleResult]
    ratios: QaTalkRatios
    tags: list[str]
    ruleset: str
    ruleset_version: str
    call_id: str
    duration: float
    metadata: dict[str, Any]
    sentiment_curve: dict[str, list[tuple[float, float]]] = Field(default_factory=dict)
    summary: str = ""
    summary_dropped: list[str] = Field(default_factory=list)
    summary_error: str = ""


class InspectedCall(ResponseBody):
    """One inspected item: its name in the batch (the file's name, or the call's id), the call and its result;
    for a recording, ``audio_url`` serves it (null for transcripts)."""

    item: str
    call: QaCall
    result: QaCallResult
    audio_url: str | None = Field(None, description="The recording: /v1/qa/inspections/{id}/audio/{item}.")


class InspectionFailure(ResponseBody):
    """An item that could not be inspected (a damaged or silent recording...): the error's code and message."""

    item: str
    code: str
    message: str


class BatchSummary(ResponseBody):
    """The batch in a few numbers."""

    ruleset: str
    ruleset_version: str
    items: int
    calls: int
    failed: int
    mean_score: float | None
    calls_with_full_score: int
    call_seconds: float
    unmatched_metadata: int


class Scorecard(ResponseBody):
    """A group of calls (one agent's, one queue's): each scoring rule's pass rate over the calls where it applied
    (null where it applied to none), and the mean talk ratios."""

    name: str
    calls: int
    mean_score: float
    pass_rates: dict[str, float | None]
    ratios: QaTalkRatios


class RuleStats(ResponseBody):
    """A scoring rule over the batch: the calls where it applied, and how many failed it."""

    rule_id: str
    name: str
    kind: str
    weight: float
    applied: int
    failures: int
    failure_share: float | None
    pass_rate: float | None


class DatePoint(ResponseBody):
    """One date of the trend (from the calls' ``date`` metadata)."""

    date: str
    calls: int
    mean_score: float


class BatchAggregates(ResponseBody):
    """What the batch sums up to: scorecards per agent and per queue, each rule's failures (``top_failed_rules``:
    their ids, most failed first), the mean score per date, tag counts, and the metadata rows that named no item."""

    summary: BatchSummary
    agents: list[Scorecard]
    queues: list[Scorecard]
    rules: list[RuleStats]
    top_failed_rules: list[str]
    trend: list[DatePoint]
    tags: dict[str, int]
    unmatched_metadata: list[str]


class InspectionAccepted(ResponseBody):
    """Recordings accepted: the job inspects them; poll ``GET /v1/qa/inspections/{id}``."""

    id: str
    object: Literal["qa.inspection"]
    status: str
    job_id: str


class InspectionSummary(ResponseBody):
    """An inspection without its results: ``source`` calls (transcripts sent as JSON) or files (recordings, by a
    job whose status it carries while the job runs); the ruleset and the version that judged it; ``items``
    submitted."""

    id: str
    object: Literal["qa.inspection"]
    status: str
    source: str
    ruleset: str
    ruleset_version: int
    items: int
    job_id: str | None
    created_at: str
    updated_at: str


class InspectionView(InspectionSummary):
    """An inspection: once done, each call with its result, the items that could not be inspected, and the batch
    aggregates (null before); ``error`` when its job failed."""

    results: list[InspectedCall] | None
    failures: list[InspectionFailure] | None
    batch: BatchAggregates | None
    error: JobError | None


class Inspections(ResponseBody):
    """A page of the caller's inspections, newest first."""

    object: Literal["list"]
    data: list[InspectionSummary]
    total: int
    limit: int
    offset: int
