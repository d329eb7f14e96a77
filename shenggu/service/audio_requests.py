"""What every audio request shares: rate limit, upload saved, duration probed, the tenant's audio limits
checked, the work run off the event loop; and metering of the audio seconds afterwards."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from fastapi import Request, UploadFile
from starlette.concurrency import run_in_threadpool

from shenggu.audio import probe_duration
from shenggu.service.limits import check_audio
from shenggu.service.observability import add_audio_seconds
from shenggu.service.storage import usage
from shenggu.service.storage.tenants import Principal
from shenggu.service.uploads import saved_upload

T = TypeVar("T")


async def run_on_upload(
    request: Request, principal: Principal, file: UploadFile, work: Callable[[Path], T]
) -> tuple[T, float]:
    """``work(path)`` on a temporary copy of the upload, after the checks; its result and the probed seconds."""
    state = request.app.state
    state.rate_limiter.check(principal)
    with saved_upload(file, state.settings.max_upload_mb << 20) as path:
        seconds = await run_in_threadpool(probe_duration, path)
        with state.db.session() as session:
            check_audio(session, principal, seconds)
        return await run_in_threadpool(work, path), seconds or 0.0


def meter_audio(request: Request, principal: Principal, capability: str, seconds: float) -> None:
    """Add a request and its audio seconds to the tenant's usage and to the service metrics."""
    with request.app.state.db.session() as session:
        usage.record(session, principal.tenant_id, capability, seconds)
    add_audio_seconds(request, capability, seconds)
