"""Per-tenant limits: requests per minute (sliding window), audio seconds per day, longest accepted recording,
characters of speech synthesis per day; and the server's limit on concurrent streams."""

from __future__ import annotations

import math
import threading
import time
from collections import defaultdict, deque

from shenggu.audio import AudioTooLongError
from shenggu.errors import ShengguError
from shenggu.service.storage import jobs, usage
from shenggu.service.storage.models import utcnow
from shenggu.service.storage.tenants import Principal


class RateLimitedError(ShengguError):
    """Too many requests this minute, or the daily audio quota is used up."""

    code = "rate_limited"
    http_status = 429


class QuotaExceededError(RateLimitedError):
    """The tenant's audio seconds for today are used up."""

    code = "quota_exceeded"


class RateLimiter:
    """Sliding one-minute window of request times per tenant (in this process)."""

    def __init__(self) -> None:
        self._hits: dict[int, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def check(self, principal: Principal) -> None:
        """Count a request, or raise 429 with Retry-After when the tenant is over its per-minute rate."""
        limit = principal.rate_per_minute
        if not limit:
            return
        now = time.monotonic()
        with self._lock:
            hits = self._hits[principal.tenant_id]
            while hits and now - hits[0] >= 60.0:
                hits.popleft()
            if len(hits) >= limit:
                retry = max(1, math.ceil(60.0 - (now - hits[0])))
                raise RateLimitedError(
                    f"rate limit of {limit} requests per minute reached", {"Retry-After": str(retry)}
                )
            hits.append(now)


class StreamSlots:
    """At most ``limit`` concurrent streams per server: one more is refused instead of slowing everyone."""

    def __init__(self, limit: int) -> None:
        self._semaphore = threading.BoundedSemaphore(limit)

    def acquire(self) -> bool:
        """Take a slot if one is free."""
        return self._semaphore.acquire(blocking=False)

    def release(self) -> None:
        """Give a slot back."""
        self._semaphore.release()


def seconds_to_midnight() -> int:
    """Seconds until the daily quotas reset (UTC midnight)."""
    now = utcnow()
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return max(1, 86400 - int((now - midnight).total_seconds()))


def check_audio(session, principal: Principal, seconds: float | None) -> None:
    """Refuse audio longer than the tenant's limit (413) or beyond today's quota (429)."""
    if seconds is None:
        return
    if principal.max_audio_seconds and seconds > principal.max_audio_seconds:
        raise AudioTooLongError(
            f"audio is {seconds:.0f} s long; this tenant's limit is {principal.max_audio_seconds:.0f} s"
        )
    quota = principal.quota_seconds_per_day
    if quota is not None:
        # Queued and running jobs count too, or a tenant could enqueue far more than its quota.
        used = usage.audio_seconds_today(session, principal.tenant_id)
        used += jobs.pending_audio_seconds(session, principal.tenant_id)
        if used + seconds > quota:
            raise QuotaExceededError(
                f"daily audio quota of {quota:.0f} s would be exceeded ({used:.0f} s used today)",
                {"Retry-After": str(seconds_to_midnight())},
            )


# The characters-per-day quota covers what costs model time per character: speech synthesis, translation and the
# assistant's spoken answers (text tools are metered, not limited by it).
CHARACTER_QUOTA_CAPABILITIES = ("speech", "translate", "assistant")


def check_characters(session, principal: Principal, characters: int) -> None:
    """Refuse speech synthesis or translation beyond today's character quota (429)."""
    quota = principal.quota_characters_per_day
    if quota is None:
        return
    used = usage.characters_today(session, principal.tenant_id, CHARACTER_QUOTA_CAPABILITIES)
    if used + characters > quota:
        raise QuotaExceededError(
            f"daily quota of {quota} characters (speech, translation) would be exceeded ({used} used today)",
            {"Retry-After": str(seconds_to_midnight())},
        )
