"""Usage (``/v1/usage``) and API keys (``/v1/admin/keys``)."""

from __future__ import annotations

from shenggu.service.schemas import ResponseBody


class Limits(ResponseBody):
    """The tenant's limits (null: unlimited)."""

    quota_seconds_per_day: float | None
    rate_per_minute: int | None
    max_audio_seconds: float | None
    quota_characters_per_day: int | None


class UsageRow(ResponseBody):
    """One capability's use on one day (UTC)."""

    day: str
    capability: str
    requests: int
    audio_seconds: float
    characters: int
    tokens: int


class Usage(ResponseBody):
    """The caller's limits and metered use, newest day first; ``audio_seconds_today`` and ``characters_today``
    are today's use in the units of the daily quotas."""

    tenant: str
    limits: Limits
    audio_seconds_today: float
    characters_today: int
    data: list[UsageRow]


class CreatedKey(ResponseBody):
    """A new key: ``key`` is shown here once and never again."""

    id: str
    tenant: str
    admin: bool
    key: str


class KeyInfo(ResponseBody):
    """A key's public description (never the key itself) and its tenant's limits."""

    id: str
    tenant: str
    admin: bool
    created_at: str
    revoked: bool
    quota_seconds_per_day: float | None
    rate_per_minute: int | None
    quota_characters_per_day: int | None


class Keys(ResponseBody):
    """Every key."""

    data: list[KeyInfo]


class RevokedKey(ResponseBody):
    """The revoked key."""

    id: str
    revoked: bool


class Me(ResponseBody):
    """Who the caller is: its tenant, its key's id (null in development mode without a key), whether the key is an
    admin key, and whether the server runs in development mode."""

    tenant: str
    key_id: str | None
    admin: bool
    dev_mode: bool


class SetupStatus(ResponseBody):
    """Whether first-run setup can create the administrator key: no unrevoked admin key exists yet."""

    available: bool
