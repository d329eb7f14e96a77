"""What every audio request shares: rate limit, upload saved, duration probed, the tenant's audio limits
checked, the work run off the event loop; and metering of the audio seconds afterwards (also of audio that was
decoded before the work failed on it, e.g. a long file without speech)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

from fastapi import Depends, Request, UploadFile
from starlette.concurrency import run_in_threadpool

from shenggu.audio import AudioError, probe_duration
from shenggu.service.deps import DatabaseDep, PrincipalDep, RateLimiterDep, SettingsDep
from shenggu.service.limits import check_audio
from shenggu.service.observability import add_audio_seconds
from shenggu.service.storage import usage
from shenggu.service.uploads import saved_upload

T = TypeVar("T")


class AudioRequest:
    """A caller's request with audio in it (a dependency: ``AudioRequestDep``). The routes' work runs through
    it, so every audio route checks and meters alike."""

    def __init__(
        self,
        request: Request,
        principal: PrincipalDep,
        settings: SettingsDep,
        database: DatabaseDep,
        limiter: RateLimiterDep,
    ) -> None:
        self.request, self.principal, self.settings = request, principal, settings
        self.database, self.limiter = database, limiter

    async def run_on_upload(self, file: UploadFile, capability: str, work: Callable[[Path], T]) -> tuple[T, float]:
        """``work(path)`` on a temporary copy of the upload, after the checks; its result and the probed seconds.

        The caller meters a success; a failure after decoding is metered here (see :meth:`run_metered`)."""
        self.limiter.check(self.principal)
        with saved_upload(file, self.settings.max_upload_mb << 20) as path:
            seconds = await run_in_threadpool(probe_duration, path)
            with self.database.session() as session:
                check_audio(session, self.principal, seconds)
            return await self.run_metered(capability, work, path), seconds or 0.0

    async def run_metered(self, capability: str, work: Callable[[Path], T], path: Path) -> T:
        """``work(path)`` off the event loop. When it fails on audio it had already decoded (no speech found, cut
        short at the end), those seconds are metered all the same: the work was done, and a 4xx must not make it
        free."""
        try:
            return await run_in_threadpool(work, path)
        except AudioError as exc:
            if exc.decoded_seconds > 0:
                self.meter(capability, exc.decoded_seconds)
            raise

    def meter(self, capability: str, seconds: float) -> None:
        """Add a request and its audio seconds to the tenant's usage and to the service metrics."""
        with self.database.session() as session:
            usage.record(session, self.principal.tenant_id, capability, seconds)
        add_audio_seconds(self.request, capability, seconds)


AudioRequestDep = Annotated[AudioRequest, Depends()]
