"""Durable jobs with leases.

A worker claims a job with one conditional UPDATE (queued, or running with an expired lease), so two workers can
never both hold it; it renews the lease while working; it writes the result with another UPDATE conditioned on
still holding the lease, so a job whose worker died and was re-run elsewhere gets exactly one result.
"""

from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from shenggu.service.storage.models import Job, utcnow
from shenggu.service.storage.tenants import NotFoundError

ACTIVE = ("queued", "running")
FINAL = ("succeeded", "failed", "cancelled")
_CALLBACK_BACKOFF_MAX = 300  # seconds: the longest wait between two callback attempts


def create(
    session: Session,
    tenant_id: int,
    task: str,
    options: dict,
    upload_path: str,
    upload_sha256: str,
    upload_name: str,
    callback_url: str | None,
    audio_seconds: float | None = None,
) -> Job:
    """Insert a queued job (its upload is already on disk)."""
    job = Job(
        id=secrets.token_hex(12),
        tenant_id=tenant_id,
        task=task,
        options=options,
        status="queued",
        upload_path=upload_path,
        upload_sha256=upload_sha256,
        upload_name=upload_name,
        callback_url=callback_url,
        audio_seconds=audio_seconds,
    )
    session.add(job)
    session.flush()
    return job


def get(session: Session, tenant_id: int, job_id: str) -> Job:
    """The tenant's job; another tenant's id is reported as not found, so ids don't leak."""
    job = session.get(Job, job_id)
    if job is None or job.tenant_id != tenant_id:
        raise NotFoundError(f"no job with id '{job_id}'")
    return job


def page(session: Session, tenant_id: int, limit: int, offset: int) -> tuple[list[Job], int]:
    """The tenant's jobs, newest first, and how many there are."""
    base = select(Job).where(Job.tenant_id == tenant_id)
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    rows = session.scalars(base.order_by(Job.created_at.desc(), Job.id).limit(limit).offset(offset))
    return list(rows), total


def cancel(session: Session, tenant_id: int, job_id: str) -> Job:
    """Cancel a queued or running job (a running worker notices at its next lease renewal)."""
    job = get(session, tenant_id, job_id)
    if job.status in ACTIVE:
        job.status, job.finished_at, job.lease_owner = "cancelled", utcnow(), None
    return job


def claim(session: Session, worker: str, lease_seconds: float) -> Job | None:
    """Take the oldest claimable job for ``worker``, or None."""
    now = utcnow()
    claimable = or_(Job.status == "queued", (Job.status == "running") & (Job.lease_expires_at < now))
    for job_id in session.scalars(select(Job.id).where(claimable).order_by(Job.created_at).limit(5)):
        taken = session.execute(
            update(Job)
            .where(Job.id == job_id, claimable)
            .values(
                status="running",
                lease_owner=worker,
                lease_expires_at=now + dt.timedelta(seconds=lease_seconds),
                attempts=Job.attempts + 1,
                started_at=func.coalesce(Job.started_at, now),
            )
        )
        if taken.rowcount == 1:
            session.flush()
            return session.get(Job, job_id, populate_existing=True)
    return None


def renew(session: Session, job_id: str, worker: str, lease_seconds: float, progress: float) -> bool:
    """Extend the lease and store progress; False when the job was cancelled or taken over."""
    renewed = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.lease_owner == worker, Job.status == "running")
        .values(lease_expires_at=utcnow() + dt.timedelta(seconds=lease_seconds), progress=progress)
    )
    return renewed.rowcount == 1


def finish(session: Session, job_id: str, worker: str, result: dict | None, error: dict | None) -> bool:
    """Store the outcome if ``worker`` still holds the job; False means someone else finished or cancelled it."""
    has_callback = session.scalar(select(Job.callback_url).where(Job.id == job_id)) is not None
    done = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.lease_owner == worker, Job.status == "running")
        .values(
            status="failed" if error else "succeeded",
            result=result,
            error=error,
            progress=1.0 if result else Job.progress,
            finished_at=utcnow(),
            lease_owner=None,
            lease_expires_at=None,
            callback_state="pending" if has_callback else None,
            callback_next_at=utcnow() if has_callback else None,
        )
    )
    return done.rowcount == 1


def release(session: Session, worker: str) -> int:
    """Put the worker's running jobs back in the queue (graceful shutdown); returns how many."""
    released = session.execute(
        update(Job)
        .where(Job.lease_owner == worker, Job.status == "running")
        .values(status="queued", lease_owner=None, lease_expires_at=None)
    )
    return released.rowcount


def pending_audio_seconds(session: Session, tenant_id: int) -> float:
    """Declared audio seconds of the tenant's queued and running jobs (already promised against its quota)."""
    total = session.scalar(
        select(func.coalesce(func.sum(Job.audio_seconds), 0.0)).where(
            Job.tenant_id == tenant_id, Job.status.in_(ACTIVE)
        )
    )
    return float(total or 0.0)


def queue_depth(session: Session) -> int:
    """Jobs waiting or running."""
    return session.scalar(select(func.count()).where(Job.status.in_(ACTIVE))) or 0


def claim_callbacks(session: Session, limit: int = 10) -> list[Job]:
    """Take finished jobs whose callback is due, the longest waiting first.

    Each is counted as an attempt and rescheduled with backoff *before* it is sent, so a delivery that crashes,
    hangs or takes the server down is tried again later rather than at once, and can never hold up the others.
    The conditional UPDATE also keeps two server processes from sending the same attempt."""
    now = utcnow()
    due = (
        select(Job.id, Job.callback_attempts)
        .where(Job.callback_state == "pending", Job.callback_next_at <= now)
        .order_by(Job.callback_next_at, Job.id)
        .limit(limit)
    )
    claimed = []
    for job_id, attempts in session.execute(due).all():
        taken = session.execute(
            update(Job)
            .where(Job.id == job_id, Job.callback_state == "pending", Job.callback_attempts == attempts)
            .values(
                callback_attempts=attempts + 1,
                callback_next_at=now + dt.timedelta(seconds=min(2 ** (attempts + 1), _CALLBACK_BACKOFF_MAX)),
            )
        )
        if taken.rowcount == 1:
            claimed.append(job_id)
    session.flush()
    return [session.get(Job, job_id, populate_existing=True) for job_id in claimed]


def record_callback(session: Session, job_id: str, outcome: str, max_attempts: int) -> None:
    """Store how a claimed attempt ended: ``delivered`` and ``refused`` are final, ``failed`` becomes final after
    ``max_attempts`` (a retry was already scheduled when the attempt was claimed)."""
    job = session.get(Job, job_id)
    if job is None or job.callback_state != "pending":
        return
    if outcome != "failed":
        job.callback_state = outcome
    elif job.callback_attempts >= max_attempts:
        job.callback_state = "failed"
