"""Asynchronous jobs: ``/v1/jobs`` (and the 202 of a long ``/v1/assessments`` reading)."""

from __future__ import annotations

from typing import Any, Literal

from shenggu.service.schemas import ResponseBody


class JobAccepted(ResponseBody):
    """A queued job: poll ``GET /v1/jobs/{id}``."""

    id: str
    object: Literal["job"]
    status: str


class JobError(ResponseBody):
    """Why a job failed: the stable error code and one readable line."""

    code: str
    message: str


class JobCallback(ResponseBody):
    """The job's callback: where it goes, how its delivery stands, and how many attempts were made."""

    url: str
    state: str | None
    attempts: int


class Job(ResponseBody):
    """A job: its status and progress, the options it was given, and its result (the same JSON as the
    synchronous route's) or its error. ``callback`` only when the job has one."""

    id: str
    object: Literal["job"]
    task: str
    status: str
    progress: float
    created_at: str | None
    started_at: str | None
    finished_at: str | None
    attempts: int
    options: dict[str, Any]
    result: dict[str, Any] | None
    error: JobError | None
    callback: JobCallback | None = None


class Jobs(ResponseBody):
    """A page of the caller's jobs, newest first."""

    object: Literal["list"]
    data: list[Job]
    total: int
    limit: int
    offset: int
