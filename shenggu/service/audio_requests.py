"""What every audio request shares: rate limit, upload saved, duration probed, the tenant's audio limits
checked, the work run off the event loop; and metering of the audio seconds afterwards (also of audio that was
decoded before the work failed on it, e.g. a long file without speech)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from fastapi import Request, UploadFile
from starlette.concurrency import run_in_threadpool

from shenggu.audio import AudioError, probe_duration
from shenggu.service.limits import check_audio
from shenggu.service.observability import add_audio_seconds
from shenggu.service.storage import usage
from shenggu.service.storage.tenants import Principal
from shenggu.service.uploads import saved_upload

T = TypeVar("T")


async def run_on_upload(
    request: Request, principal: Principal, file: UploadFile, capability: str, work: Callable[[Path], T]
) -> tuple[T, float]:
    """``work(path)`` on a temporary copy of the upload, after the checks; its result and the probed seconds.

    The caller meters a success; a failure after decoding is metered here (see :func:`run_metered`)."""
    state = request.app.state
    state.rate_limiter.check(principal)
    with saved_upload(file, state.settings.max_upload_mb << 20) as path:
        seconds = await run_in_threadpool(probe_duration, path)
        with state.db.session() as session:
            check_audio(session, principal, seconds)
        return await run_metered(request, principal, capability, work, path), seconds or 0.0


async def run_metered(
    request: Request, principal: Principal, capability: str, work: Callable[[Path], T], path: Path
) -> T:
    """``work(path)`` off the event loop. When it fails on audio it had already decoded (no speech found, cut
    short at the end), those seconds are metered all the same: the work was done, and a 4xx must not make it free."""
    try:
        return await run_in_threadpool(work, path)
    except AudioError as exc:
        if exc.decoded_seconds > 0:
            meter_audio(request, principal, capability, exc.decoded_seconds)
        raise


def meter_audio(request: Request, principal: Principal, capability: str, seconds: float) -> None:
    """Add a request and its audio seconds to the tenant's usage and to the service metrics."""
    with request.app.state.db.session() as session:
        usage.record(session, principal.tenant_id, capability, seconds)
    add_audio_seconds(request, capability, seconds)
