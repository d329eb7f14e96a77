"""A tenant's enrolled voices: stored as voiceprints, enrolled again to refine them, listed, deleted."""

from __future__ import annotations

import re

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from shenggu.diarize.voiceprint import Voiceprint
from shenggu.errors import InvalidOptionError
from shenggu.service.storage.models import Speaker
from shenggu.service.storage.names import DOT_NAMES
from shenggu.service.storage.tenants import NotFoundError

MAX_SPEAKERS = 1000
# Names are what people call the voice (张法官, judge, agent-007): any text but slashes and control characters.
_NAME = re.compile(r"[^/\\\x00-\x1f\x7f]{1,64}")


def check_name(name: str) -> str:
    """A speaker name: 1–64 characters, no slash, backslash or control character, not blank, ``.`` or ``..``."""
    if not _NAME.fullmatch(name) or not name.strip() or name.strip() in DOT_NAMES:
        raise InvalidOptionError(
            f"invalid speaker name '{name[:70]}' (1-64 characters, no / \\ or control characters, not . or ..)"
        )
    return name.strip()


def enroll(session: Session, tenant_id: int, name: str, print_: Voiceprint) -> Speaker:
    """Create a speaker, or add another clip's voiceprint to an existing one."""
    name = check_name(name)
    row = _find(session, tenant_id, name)
    if row is None:
        count = len(list_all(session, tenant_id))
        if count >= MAX_SPEAKERS:
            raise InvalidOptionError(f"a tenant enrolls at most {MAX_SPEAKERS} speakers")
        row = Speaker(tenant_id=tenant_id, name=name, clips=0, seconds=0.0)
        session.add(row)
    else:
        print_ = voiceprint_of(row).merged(print_)
    row.embedding = print_.embedding.astype("<f4").tobytes()
    row.seconds = print_.seconds
    row.clips += 1
    session.flush()
    return row


def voiceprint_of(row: Speaker) -> Voiceprint:
    """The stored voiceprint of a speaker row."""
    return Voiceprint(np.frombuffer(row.embedding, dtype="<f4").astype(np.float32), row.seconds)


def get(session: Session, tenant_id: int, name: str) -> Speaker:
    """One enrolled speaker of the tenant (NotFoundError if there is none of that name)."""
    row = _find(session, tenant_id, name.strip())
    if row is None:
        raise NotFoundError(f"no enrolled speaker named '{name[:70]}'")
    return row


def list_all(session: Session, tenant_id: int) -> list[Speaker]:
    """The tenant's enrolled speakers, by name."""
    return list(session.scalars(select(Speaker).where(Speaker.tenant_id == tenant_id).order_by("name")))


def delete(session: Session, tenant_id: int, name: str) -> None:
    """Remove an enrolled speaker (NotFoundError if there is none of that name)."""
    session.delete(get(session, tenant_id, name))


def voices_named(session: Session, tenant_id: int, names: tuple[str, ...]) -> dict[str, list[float]]:
    """The embeddings of those ``names`` that are enrolled speakers (others are plain role names)."""
    if not names:
        return {}
    rows = session.scalars(select(Speaker).where(Speaker.tenant_id == tenant_id, Speaker.name.in_(names)))
    return {row.name: voiceprint_of(row).embedding.tolist() for row in rows}


def _find(session: Session, tenant_id: int, name: str) -> Speaker | None:
    return session.scalars(select(Speaker).where(Speaker.tenant_id == tenant_id, Speaker.name == name)).first()
