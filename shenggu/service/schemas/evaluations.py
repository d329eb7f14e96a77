"""Evaluation of recognition on the tenant's own test sets: ``/v1/evaluations`` (the request body of a run, and the
responses: test sets, runs with their per-clip results, comparisons of two runs, and the problems of a bad set).
Error rates are CER for Mandarin clips and WER for English ones, after the benchmark's normalization."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shenggu.service.errors import ErrorDetail
from shenggu.service.evaluation_sets import MAX_CLIPS, TASKS
from shenggu.service.schemas import ResponseBody
from shenggu.service.schemas.jobs import JobError

TESTSET = "evaluation.testset"
RUN = "evaluation.run"
COMPARISON = "evaluation.comparison"
TaskName = Literal["asr", "pronunciation", "diarization"]  # evaluation_sets.TASKS


# --------------------------------------------------------------------------------------------------------
# Test sets
# --------------------------------------------------------------------------------------------------------


class TestSetClip(ResponseBody):
    """A clip of a test set: as its manifest gave it (``path`` as uploaded), with its decoded length."""

    id: str
    language: str
    task: str
    path: str
    duration_s: float
    reference_text: str
    ref_quality: str


class TestSetSummary(ResponseBody):
    """A stored test set: its clips by task and language (``items``: ``{"asr": {"zh": 2, "en": 2}}``), and the
    tasks a run benchmarks by default (``benchmarks``)."""

    id: str
    object: Literal["evaluation.testset"]
    name: str
    created_at: str | None
    clip_count: int
    items: dict[str, dict[str, int]]
    tasks: list[str]
    languages: list[str]
    benchmarks: list[str]
    audio_seconds: float


class TestSet(TestSetSummary):
    """A stored test set with its clips, in manifest order."""

    clips: list[TestSetClip]


class TestSets(ResponseBody):
    """A page of the caller's test sets, newest first (without their clips)."""

    object: Literal["list"]
    data: list[TestSetSummary]
    total: int
    limit: int
    offset: int


class TestSetProblem(ResponseBody):
    """One thing wrong with an uploaded test set: the manifest's line (the header is line 1), the clip id and the
    column, where there is one, and what is wrong."""

    row: int | None
    id: str | None
    column: str | None
    problem: str


class TestSetProblems(ResponseBody):
    """A refused test set: the usual error (``bad_testset``) and every problem found (the first 100 of
    ``problems_total``). Nothing of the set was stored."""

    error: ErrorDetail
    problems: list[TestSetProblem]
    problems_total: int


# --------------------------------------------------------------------------------------------------------
# Runs
# --------------------------------------------------------------------------------------------------------


class RunBody(BaseModel):
    """A benchmark run on a stored test set."""

    model_config = ConfigDict(extra="forbid")

    testset_id: str = Field(max_length=64)
    label: str = Field("", max_length=200, description="A name for the run, e.g. 'with the 2024 hotwords'.")
    tasks: list[TaskName] | None = Field(
        None, max_length=len(TASKS), description="Default: every task of the set; those not benchmarked are skipped."
    )
    engine: str | None = Field(None, max_length=64, description="ASR engine (see /v1/models); default: the server's.")
    hotword_list: str | None = Field(
        None, max_length=64, description="A stored hotword list (/v1/hotwords) to recognize with ('default' always is)."
    )
    limit: int | None = Field(None, ge=1, le=MAX_CLIPS, description="Only the first N clips of each task.")


class SkippedTask(ResponseBody):
    """A task of the test set that the run does not benchmark, and why."""

    task: str
    reason: str


class Run(ResponseBody):
    """A benchmark run: its job's status and progress while it runs (``job_id``: also in ``/v1/jobs``), what it
    was asked, and once it succeeded each task's benchmark summary (``summary["asr"]``: ``zh.cer``, ``en.wer``,
    ``rtf``, ``audio_seconds``, ``engine``...). ``error`` says why a failed run failed."""

    id: str
    object: Literal["evaluation.run"]
    testset_id: str
    label: str
    status: str
    progress: float
    job_id: str | None
    created_at: str | None
    updated_at: str | None
    tasks: list[str]
    skipped: list[SkippedTask]
    engine: str | None
    hotword_list: str | None
    hotwords: int
    limit: int | None
    summary: dict[str, dict[str, Any]] | None
    error: JobError | None


class AlignedRun(ResponseBody):
    """A run of one edit operation in a clip's alignment: its normalized reference and hypothesis tokens
    (characters as they are for Mandarin, words joined by a space for English); an insertion has an empty ``ref``,
    a deletion an empty ``hyp``."""

    op: Literal["equal", "substitute", "insert", "delete"]
    ref: str
    hyp: str


class RunClip(ResponseBody):
    """One clip's result: what was said and recognized, its error rate (``metric``: cer or wer) and counts, and
    the alignment they were counted on."""

    task: str
    id: str
    language: str
    ref_quality: str
    duration_s: float
    reference: str
    hypothesis: str
    metric: str
    error_rate: float
    errors: int
    ref_len: int
    substitutions: int
    deletions: int
    insertions: int
    alignment: list[AlignedRun]


class RunFailure(ResponseBody):
    """A clip the benchmark could not transcribe (the run went on without it)."""

    task: str
    id: str
    code: str
    message: str


class RunView(Run):
    """A run with its per-clip results (empty until it succeeded)."""

    clips: list[RunClip]
    failures: list[RunFailure]


class Runs(ResponseBody):
    """A page of the caller's runs (of one test set, if asked), newest first, without their clips."""

    object: Literal["list"]
    data: list[Run]
    total: int
    limit: int
    offset: int


# --------------------------------------------------------------------------------------------------------
# Comparisons
# --------------------------------------------------------------------------------------------------------


class SummaryDelta(ResponseBody):
    """One number of the two runs' summaries (dotted key: ``zh.cer``, ``rtf``...) and ``other - base``."""

    key: str
    base: float
    other: float
    delta: float


class ClipComparison(ResponseBody):
    """One clip in both runs: each run's error rate and hypothesis, and ``difference = other_rate - base_rate``
    (negative: ``other`` made fewer errors)."""

    id: str
    language: str
    metric: str
    reference: str
    base_hypothesis: str
    other_hypothesis: str
    base_rate: float
    other_rate: float
    difference: float


class Comparison(ResponseBody):
    """Two runs of one test set compared on one task: the summaries' differences, each clip both runs transcribed,
    how many clips ``other`` did better, worse or the same on, and the mean per-clip difference with its 95 %
    paired bootstrap interval (``ci95``; null when no clip is in both)."""

    object: Literal["evaluation.comparison"]
    task: str
    testset_id: str
    base: Run
    other: Run
    summary: list[SummaryDelta]
    clips: list[ClipComparison]
    compared: int
    better: int
    worse: int
    same: int
    mean_difference: float | None
    ci95: list[float] | None
