"""A tenant's evaluation test sets and the benchmark runs made on them (``/v1/evaluations``).

A test set's row says what it holds (clips by task and language, audio seconds) and where its files are: its
folder under the data directory (:func:`testset_folder`) holds the clips and the normalized ``manifest.tsv``, and
each run's outputs under ``runs/<run id>/``. A run is made by an ``evaluation`` job and carries the job's status
until the job stores its outcome here (:func:`job_finished`). Deleting a test set deletes its runs, and a job still
running one of them is cancelled. Another tenant's test set or run is reported as not found.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from shenggu.service.storage import jobs
from shenggu.service.storage.models import Job, StoredEvaluationRun, StoredTestSet, utcnow
from shenggu.service.storage.tenants import NotFoundError

EVALUATIONS_FOLDER = "evaluations"  # under the data directory


def new_id() -> str:
    """A test set or run id: random, so ids cannot be guessed across tenants."""
    return secrets.token_hex(12)


def tenant_folder(data_dir: Path, tenant_id: int) -> Path:
    """Where a tenant's test sets are: ``<data dir>/evaluations/<tenant id>``."""
    return data_dir / EVALUATIONS_FOLDER / str(tenant_id)


def testset_folder(data_dir: Path, row: StoredTestSet) -> Path:
    """A test set's folder: its clips, its ``manifest.tsv`` and its runs' outputs."""
    return data_dir / row.directory


def run_folder(data_dir: Path, testset: StoredTestSet, run_id: str) -> Path:
    """A run's outputs (``<task>/results.json``, ``<task>/report.html``...)."""
    return testset_folder(data_dir, testset) / "runs" / run_id


# --------------------------------------------------------------------------------------------------------
# Test sets
# --------------------------------------------------------------------------------------------------------


def create_testset(
    session: Session,
    tenant_id: int,
    testset_id: str,
    name: str,
    items: dict[str, dict[str, int]],
    audio_seconds: float,
    directory: str,
) -> StoredTestSet:
    """Insert a test set whose files are already in ``directory`` (relative to the data directory)."""
    row = StoredTestSet(
        id=testset_id,
        tenant_id=tenant_id,
        name=name,
        items=items,
        clip_count=sum(n for languages in items.values() for n in languages.values()),
        audio_seconds=audio_seconds,
        directory=directory,
    )
    session.add(row)
    session.flush()
    return row


def get_testset(session: Session, tenant_id: int, testset_id: str) -> StoredTestSet:
    """The tenant's test set (NotFoundError for an unknown id or another tenant's)."""
    row = session.get(StoredTestSet, testset_id)
    if row is None or row.tenant_id != tenant_id:
        raise NotFoundError(f"no test set with id '{testset_id[:40]}'")
    return row


def testsets_page(session: Session, tenant_id: int, limit: int, offset: int) -> tuple[list[StoredTestSet], int]:
    """The tenant's test sets, newest first, and how many there are."""
    base = select(StoredTestSet).where(StoredTestSet.tenant_id == tenant_id)
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    rows = session.scalars(base.order_by(StoredTestSet.created_at.desc(), StoredTestSet.id).limit(limit).offset(offset))
    return list(rows), total


def delete_testset(session: Session, tenant_id: int, testset_id: str) -> StoredTestSet:
    """Remove a test set and its runs; the jobs of runs still queued or running are cancelled. Returns the removed
    row (its folder is the caller's to remove)."""
    row = get_testset(session, tenant_id, testset_id)
    runs = session.scalars(select(StoredEvaluationRun).where(StoredEvaluationRun.testset_id == row.id))
    for run in runs:
        _cancel_job(session, run)
    session.execute(delete(StoredEvaluationRun).where(StoredEvaluationRun.testset_id == row.id))
    session.delete(row)
    return row


# --------------------------------------------------------------------------------------------------------
# Runs
# --------------------------------------------------------------------------------------------------------


def create_run(
    session: Session, testset: StoredTestSet, run_id: str, label: str, options: dict, job_id: str
) -> StoredEvaluationRun:
    """Insert a run of ``testset`` that the job ``job_id`` makes (queued)."""
    row = StoredEvaluationRun(
        id=run_id,
        tenant_id=testset.tenant_id,
        testset_id=testset.id,
        label=label,
        options=options,
        job_id=job_id,
        status="queued",
    )
    session.add(row)
    session.flush()
    return row


def get_run(session: Session, tenant_id: int, run_id: str) -> StoredEvaluationRun:
    """The tenant's run (NotFoundError for an unknown id or another tenant's)."""
    row = session.get(StoredEvaluationRun, run_id)
    if row is None or row.tenant_id != tenant_id:
        raise NotFoundError(f"no evaluation run with id '{run_id[:40]}'")
    return row


def runs_page(
    session: Session, tenant_id: int, testset_id: str | None, limit: int, offset: int
) -> tuple[list[StoredEvaluationRun], int]:
    """The tenant's runs (of one test set, if given), newest first, and how many there are."""
    base = select(StoredEvaluationRun).where(StoredEvaluationRun.tenant_id == tenant_id)
    if testset_id is not None:
        base = base.where(StoredEvaluationRun.testset_id == testset_id)
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    newest = base.order_by(StoredEvaluationRun.created_at.desc(), StoredEvaluationRun.id)
    return list(session.scalars(newest.limit(limit).offset(offset))), total


def job_of(session: Session, run: StoredEvaluationRun) -> Job | None:
    """The job that makes the run."""
    return session.get(Job, run.job_id) if run.job_id else None


def status_of(run: StoredEvaluationRun, job: Job | None) -> str:
    """The run's status: its job's while the job has not stored its outcome here, else its own."""
    if run.status in jobs.ACTIVE and job is not None:
        return job.status
    return run.status


def delete_run(session: Session, tenant_id: int, run_id: str) -> StoredEvaluationRun:
    """Remove a run; its job is cancelled if it is still queued or running. Returns the removed row."""
    row = get_run(session, tenant_id, run_id)
    _cancel_job(session, row)
    session.delete(row)
    return row


def _cancel_job(session: Session, run: StoredEvaluationRun) -> None:
    if run.job_id and run.status in jobs.ACTIVE:
        jobs.cancel(session, run.tenant_id, run.job_id)


def job_finished(session: Session, job_id: str, summary: dict | None, failed: bool) -> None:
    """Store the outcome of a run's job: its status and, when it succeeded, each task's summary. A run deleted
    meanwhile stays deleted."""
    values = {"status": "failed" if failed else "succeeded", "summary": summary, "updated_at": utcnow()}
    session.execute(update(StoredEvaluationRun).where(StoredEvaluationRun.job_id == job_id).values(**values))
