"""The job worker pool and callback delivery, running as threads inside the server process.

Each worker claims a job through its lease, verifies the stored upload's checksum, runs the task while renewing
the lease with its progress, and stores the outcome only if it still holds the lease. Callbacks of finished jobs
are POSTed (``shenggu.service.callbacks``: signed, to checked addresses only) and retried with exponential backoff.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import threading
import time
import uuid
from pathlib import Path

from shenggu.audio import AudioError
from shenggu.config import Settings
from shenggu.errors import ShengguError
from shenggu.logs import get_logger
from shenggu.service.callbacks import CallbackSender, DestinationPolicy, Outcome
from shenggu.service.engines import Engines
from shenggu.service.observability import ServiceMetrics, add_audio_seconds
from shenggu.service.storage import jobs, usage
from shenggu.service.storage.db import Database
from shenggu.service.storage.models import Job, Tenant
from shenggu.service.tasks import run_job, store_outcome
from shenggu.service.uploads import sha256_of, upload_errors

log = get_logger("shenggu.jobs")
_IDLE_POLL = 0.5  # seconds between looks at an empty queue
_RENEW_EVERY = 2.0  # seconds between lease renewals while a job runs


class JobCancelled(Exception):
    """The job was cancelled (or taken over) while it ran."""


def job_results_dir(data_dir: Path, job_id: str) -> Path:
    """Where a job's result files (a court or medical record's JSON, DOCX, PDF...) are kept."""
    return data_dir / "results" / job_id


def job_view(job: Job) -> dict:
    """The public JSON form of a job."""
    view = {
        "id": job.id,
        "object": "job",
        "task": job.task,
        "status": job.status,
        "progress": round(job.progress, 3),
        "created_at": _iso(job.created_at),
        "started_at": _iso(job.started_at),
        "finished_at": _iso(job.finished_at),
        "attempts": job.attempts,
        "options": job.options,
        "result": job.result,
        "error": job.error,
    }
    if job.callback_url:
        view["callback"] = {"url": job.callback_url, "state": job.callback_state, "attempts": job.callback_attempts}
    return view


def _iso(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).isoformat()


class WorkerPool:
    """``settings.job_workers`` job threads plus one callback thread."""

    def __init__(self, db: Database, settings: Settings, metrics: ServiceMetrics | None = None) -> None:
        self.db, self.settings, self.metrics = db, settings, metrics
        self.destinations = DestinationPolicy.from_settings(settings)
        self.engines = Engines(settings)
        self.instance = uuid.uuid4().hex[:8]
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        """Start the threads."""
        for n in range(self.settings.job_workers):
            name = f"{self.instance}-{n}"
            self._threads.append(threading.Thread(target=self._work, args=(name,), name=f"job-{name}", daemon=True))
        self._threads.append(threading.Thread(target=self._deliver, name="callbacks", daemon=True))
        for thread in self._threads:
            thread.start()
        log.info("job workers started", workers=self.settings.job_workers, instance=self.instance)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop taking jobs; a job still running after ``timeout`` goes back to the queue."""
        self._stop.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        with self.db.session() as session:
            released = sum(jobs.release(session, f"{self.instance}-{n}") for n in range(self.settings.job_workers))
        log.info("job workers stopped", requeued=released)

    def _work(self, worker: str) -> None:
        while not self._stop.is_set():
            try:
                with self.db.session() as session:
                    job = jobs.claim(session, worker, self.settings.lease_seconds)
                if job is None:
                    self._stop.wait(_IDLE_POLL)
                    continue
                self._run(job, worker)
            except Exception:  # the loop must survive anything (DB hiccups included)
                log.exception("job worker error", worker=worker)
                self._stop.wait(1.0)

    def _run(self, job: Job, worker: str) -> None:
        log.info("job started", job_id=job.id, task=job.task, attempt=job.attempts)
        last_renewal = [time.monotonic()]

        def progress(fraction: float) -> None:
            if self._stop.is_set():
                raise JobCancelled("server shutting down")
            if time.monotonic() - last_renewal[0] >= _RENEW_EVERY:
                last_renewal[0] = time.monotonic()
                with self.db.session() as session:
                    if not jobs.renew(session, job.id, worker, self.settings.lease_seconds, fraction):
                        raise JobCancelled("job cancelled")

        result, error, seconds = None, None, 0.0
        try:
            path = Path(job.upload_path)
            if not path.is_file() or sha256_of(path) != job.upload_sha256:
                raise ShengguError("the stored upload is missing or damaged")
            results = job_results_dir(self.settings.data_dir, job.id)
            with upload_errors(path):  # the job's error is shown to its tenant
                result, seconds = run_job(job.task, path, job.options, job.upload_name, results, self.engines, progress)
        except JobCancelled as exc:
            log.info("job stopped", job_id=job.id, reason=str(exc))
            return
        except ShengguError as exc:
            error = {"code": exc.code, "message": exc.message}
            if isinstance(exc, AudioError):  # audio decoded before it failed (no speech in it) was work done
                seconds = exc.decoded_seconds
        except Exception as exc:
            log.exception("job crashed", job_id=job.id)
            # Like a crashed request's 500: the message of an unexpected error may name server paths.
            message = f"internal error ({type(exc).__name__}); the server log has details"
            error = {"code": "internal_error", "message": message}
        with self.db.session() as session:
            stored = jobs.finish(session, job.id, worker, result, error)
            if stored:  # in the same transaction: a job's outcome and what it fills are stored together
                store_outcome(session, job, result, error)
            metered = stored and (result is not None or seconds > 0)
            if metered:
                usage.record(session, job.tenant_id, job.task, seconds)
        if metered and self.metrics:
            add_audio_seconds(self.metrics, job.task, seconds)
        log.info("job finished", job_id=job.id, stored=stored, status="failed" if error else "succeeded")

    def _deliver(self) -> None:
        asyncio.run(self._callback_loop())

    async def _callback_loop(self) -> None:
        while not self._stop.is_set():
            try:
                await self.deliver_callbacks()
            except Exception:  # a database hiccup: the claimed attempts are already recorded, the next round goes on
                log.exception("callback loop error")
            await asyncio.sleep(_IDLE_POLL)

    async def deliver_callbacks(self) -> int:
        """Send the callbacks that are due, concurrently, and record how each ended; returns how many were tried."""
        with self.db.session() as session:
            due = [(job, session.get(Tenant, job.tenant_id)) for job in jobs.claim_callbacks(session)]
        if not due:
            return 0
        async with CallbackSender(self.destinations) as sender:
            outcomes = await asyncio.gather(*(self._send_callback(sender, job, tenant) for job, tenant in due))
        with self.db.session() as session:
            for (job, _), outcome in zip(due, outcomes, strict=True):
                jobs.record_callback(session, job.id, outcome, self.settings.callback_max_attempts)
        for (job, _), outcome in zip(due, outcomes, strict=True):
            log.info("callback", job_id=job.id, outcome=outcome, attempts=job.callback_attempts)
        return len(due)

    async def _send_callback(self, sender: CallbackSender, job: Job, tenant: Tenant | None) -> Outcome:
        try:
            if tenant is None:  # never send a callback that is not signed with the tenant's secret
                raise LookupError(f"tenant {job.tenant_id} of the job is gone")
            body = json.dumps(job_view(job), ensure_ascii=False).encode()
            return await sender.send(job.callback_url or "", body, tenant.secret)
        except Exception:  # a bug costs this job one attempt, never the other jobs their callbacks
            log.exception("callback error", job_id=job.id)
            return "failed"
