"""A tenant's clinical records (``/v1/medical/records``): stored whole as JSON, corrected in place with a version
counter, and filled by their job when one made them. Another tenant's id is reported as not found."""

from __future__ import annotations

import secrets

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from shenggu.errors import ShengguError
from shenggu.service.storage import jobs
from shenggu.service.storage.models import Job, StoredMedicalRecord, utcnow
from shenggu.service.storage.tenants import NotFoundError


class RecordNotReadyError(ShengguError):
    """The record's job has not produced it (yet, or at all): nothing to read or correct."""

    code = "record_not_ready"
    http_status = 409


class RecordChangedError(ShengguError):
    """Another correction was stored since the record was read."""

    code = "record_changed"
    http_status = 409


def new_id() -> str:
    """A record id: random, so ids cannot be guessed across tenants."""
    return secrets.token_hex(12)


def create(
    session: Session,
    tenant_id: int,
    mode: str,
    record: dict | None,
    *,
    record_id: str | None = None,
    job_id: str | None = None,
) -> StoredMedicalRecord:
    """Insert a record: a finished one (``record`` given), or one its job ``job_id`` will fill (queued)."""
    row = StoredMedicalRecord(
        id=record_id or new_id(),
        tenant_id=tenant_id,
        mode=mode,
        status="succeeded" if record is not None else "queued",
        job_id=job_id,
        record=record,
        version=1,
    )
    session.add(row)
    session.flush()
    return row


def get(session: Session, tenant_id: int, record_id: str) -> StoredMedicalRecord:
    """The tenant's record (NotFoundError for an unknown id or another tenant's)."""
    row = session.get(StoredMedicalRecord, record_id)
    if row is None or row.tenant_id != tenant_id:
        raise NotFoundError(f"no medical record with id '{record_id[:40]}'")
    return row


def job_of(session: Session, row: StoredMedicalRecord) -> Job | None:
    """The job that makes the record, if one does."""
    return session.get(Job, row.job_id) if row.job_id else None


def status_of(row: StoredMedicalRecord, job: Job | None) -> str:
    """The record's status: its job's while the job has not stored its outcome here (queued, running, or
    cancelled), else its own."""
    if row.status in jobs.ACTIVE and job is not None:
        return job.status
    return row.status


def ready(row: StoredMedicalRecord) -> dict:
    """The record's JSON; RecordNotReadyError while its job has not produced it."""
    if row.record is None:
        raise RecordNotReadyError(f"medical record {row.id} has no content yet (its job is {row.status})")
    return row.record


def page(session: Session, tenant_id: int, limit: int, offset: int) -> tuple[list[StoredMedicalRecord], int]:
    """The tenant's records, newest first, and how many there are."""
    base = select(StoredMedicalRecord).where(StoredMedicalRecord.tenant_id == tenant_id)
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    newest = base.order_by(StoredMedicalRecord.created_at.desc(), StoredMedicalRecord.id)
    return list(session.scalars(newest.limit(limit).offset(offset))), total


def correct(session: Session, row: StoredMedicalRecord, record: dict) -> StoredMedicalRecord:
    """Store a corrected record as the next version. The UPDATE is conditioned on the version that was read, so
    of two corrections made from the same version the second is refused (RecordChangedError), never lost."""
    stored = session.execute(
        update(StoredMedicalRecord)
        .where(StoredMedicalRecord.id == row.id, StoredMedicalRecord.version == row.version)
        .values(record=record, version=row.version + 1, updated_at=utcnow())
    )
    if stored.rowcount != 1:
        raise RecordChangedError(f"medical record {row.id} was changed meanwhile; read it again and retry")
    session.refresh(row)
    return row


def delete(session: Session, tenant_id: int, record_id: str) -> None:
    """Remove a record; a job still making it is cancelled (NotFoundError for an unknown id)."""
    row = get(session, tenant_id, record_id)
    if row.job_id and row.status in jobs.ACTIVE:
        jobs.cancel(session, tenant_id, row.job_id)
    session.delete(row)


def job_finished(session: Session, job_id: str, record: dict | None, failed: bool) -> None:
    """Store the outcome of the job that makes a record: its status, and the record when it succeeded. A record
    deleted meanwhile stays deleted."""
    values: dict = {"status": "failed" if failed else "succeeded", "updated_at": utcnow()}
    if record is not None:
        values["record"] = record
    session.execute(update(StoredMedicalRecord).where(StoredMedicalRecord.job_id == job_id).values(**values))
