"""Usage metering per tenant, capability and UTC day (an upsert, so concurrent requests add up correctly)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shenggu.service.storage.models import Usage, utcnow


def today() -> str:
    """The current UTC day as YYYY-MM-DD."""
    return utcnow().date().isoformat()


def record(
    session: Session,
    tenant_id: int,
    capability: str,
    audio_seconds: float = 0.0,
    requests: int = 1,
    characters: int = 0,
    tokens: int = 0,
) -> None:
    """Add one request (and its audio seconds, characters or language-model tokens) to today's usage row."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    statement = insert(Usage).values(
        tenant_id=tenant_id,
        day=today(),
        capability=capability,
        requests=requests,
        audio_seconds=audio_seconds,
        characters=characters,
        tokens=tokens,
    )
    statement = statement.on_conflict_do_update(
        index_elements=["tenant_id", "day", "capability"],
        set_={
            "requests": Usage.requests + statement.excluded.requests,
            "audio_seconds": Usage.audio_seconds + statement.excluded.audio_seconds,
            "characters": Usage.characters + statement.excluded.characters,
            "tokens": Usage.tokens + statement.excluded.tokens,
        },
    )
    session.execute(statement)


# Capabilities whose audio seconds are audio they produced (metered, but limited by the characters quota instead).
_PRODUCED_AUDIO = ("speech",)


def audio_seconds_today(session: Session, tenant_id: int) -> float:
    """Audio seconds the tenant has sent today (the daily audio quota's unit), over every capability."""
    total = session.scalar(
        select(func.coalesce(func.sum(Usage.audio_seconds), 0.0)).where(
            Usage.tenant_id == tenant_id,
            Usage.day == today(),
            Usage.capability.not_in(_PRODUCED_AUDIO),
        )
    )
    return float(total or 0.0)


def characters_today(session: Session, tenant_id: int, capabilities: Sequence[str]) -> int:
    """Characters the tenant has used today in these capabilities."""
    total = session.scalar(
        select(func.coalesce(func.sum(Usage.characters), 0)).where(
            Usage.tenant_id == tenant_id, Usage.day == today(), Usage.capability.in_(list(capabilities))
        )
    )
    return int(total or 0)


def report(session: Session, tenant_id: int, days: int = 30) -> list[dict]:
    """The tenant's usage rows of the last ``days`` days, newest first."""
    since = (utcnow().date() - dt.timedelta(days=days - 1)).isoformat()
    rows = session.scalars(
        select(Usage)
        .where(Usage.tenant_id == tenant_id, Usage.day >= since)
        .order_by(Usage.day.desc(), Usage.capability)
    )
    return [
        {
            "day": r.day,
            "capability": r.capability,
            "requests": r.requests,
            "audio_seconds": round(r.audio_seconds, 3),
            "characters": r.characters,
            "tokens": r.tokens,
        }
        for r in rows
    ]
