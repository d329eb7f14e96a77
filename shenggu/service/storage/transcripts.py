"""A tenant's saved transcripts (``/v1/transcripts``): the console's corrected transcripts, stored whole as JSON
and saved over in place with a revision counter, so that of two editors who loaded the same revision the second
to save is refused instead of overwriting the first. Another tenant's id is reported as not found."""

from __future__ import annotations

import secrets

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, defer

from shenggu.errors import ShengguError
from shenggu.service.storage.models import StoredTranscript, utcnow
from shenggu.service.storage.tenants import NotFoundError


class TranscriptChangedError(ShengguError):
    """Another save was stored since the editor loaded the transcript."""

    code = "transcript_changed"
    http_status = 409


def new_id() -> str:
    """A transcript id: random, so ids cannot be guessed across tenants."""
    return secrets.token_hex(12)


def create(session: Session, tenant_id: int, fields: dict) -> StoredTranscript:
    """Insert a transcript at revision 1. ``fields``: name, language, duration, source and segments (dicts)."""
    row = StoredTranscript(
        id=new_id(), tenant_id=tenant_id, revision=1, segment_count=len(fields["segments"]), **fields
    )
    session.add(row)
    session.flush()
    return row


def get(session: Session, tenant_id: int, transcript_id: str) -> StoredTranscript:
    """The tenant's transcript (NotFoundError for an unknown id or another tenant's)."""
    row = session.get(StoredTranscript, transcript_id)
    if row is None or row.tenant_id != tenant_id:
        raise NotFoundError(f"no transcript with id '{transcript_id[:40]}'")
    return row


def page(session: Session, tenant_id: int, limit: int, offset: int) -> tuple[list[StoredTranscript], int]:
    """The tenant's transcripts, newest first (segments not loaded), and how many there are."""
    base = select(StoredTranscript).where(StoredTranscript.tenant_id == tenant_id)
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    newest = base.options(defer(StoredTranscript.segments, raiseload=True)).order_by(
        StoredTranscript.created_at.desc(), StoredTranscript.id
    )
    return list(session.scalars(newest.limit(limit).offset(offset))), total


def save(session: Session, row: StoredTranscript, changes: dict, revision: int | None = None) -> StoredTranscript:
    """Store ``changes`` (any of name, language, duration, source, segments) as the next revision. The UPDATE is
    conditioned on ``revision`` (default: the one just read), so a save made from an older revision is refused
    (TranscriptChangedError), never lost."""
    expected = row.revision if revision is None else revision
    values = {**changes, "revision": expected + 1, "updated_at": utcnow()}
    if "segments" in changes:
        values["segment_count"] = len(changes["segments"])
    stored = session.execute(
        update(StoredTranscript)
        .where(StoredTranscript.id == row.id, StoredTranscript.revision == expected)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if stored.rowcount != 1:
        raise TranscriptChangedError(
            f"transcript {row.id} changed since you loaded it (revision {expected}; it is at revision "
            f"{_current_revision(session, row)}): load it again and redo your edits"
        )
    session.refresh(row)
    return row


def _current_revision(session: Session, row: StoredTranscript) -> int:
    current = session.scalar(select(StoredTranscript.revision).where(StoredTranscript.id == row.id))
    return row.revision if current is None else current


def delete(session: Session, tenant_id: int, transcript_id: str) -> None:
    """Remove a transcript (NotFoundError for an unknown id or another tenant's)."""
    session.delete(get(session, tenant_id, transcript_id))
