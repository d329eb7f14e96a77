"""Per-tenant FAQ knowledge bases: named, versioned, append-only.

Every import adds a version; the newest version is the active one. Activating an older version copies it to a
new version, so no import or rollback ever loses a previous base. Version numbers of a base are never reused
(not even after it is deleted and imported again), so ``(tenant_id, name, version)`` always names one content and
a retrieval index can be cached by it (see ``active``).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import NamedTuple

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, defer

from shenggu.errors import InvalidOptionError
from shenggu.nlp.faq.types import KbEntry, KnowledgeBase
from shenggu.service.storage.models import INT32_MAX, KnowledgeBaseVersion, StoredKnowledgeBase, utcnow
from shenggu.service.storage.names import check_slug
from shenggu.service.storage.tenants import NotFoundError

MAX_NOTE_CHARS = 300
_CACHE_SIZE = 8


class ActiveBase(NamedTuple):
    """A tenant's knowledge base at its active version (the entries are shared: do not modify them)."""

    name: str
    version: int
    kb: KnowledgeBase


def check_name(name: str) -> str:
    """A knowledge-base name: 1-64 letters, digits, ``_``, ``.`` or ``-``, not ``.`` or ``..``."""
    return check_slug(name, "knowledge base")


def entries_of(row: KnowledgeBaseVersion) -> KnowledgeBase:
    """The entries a stored version holds."""
    return KnowledgeBase([KbEntry.from_dict(item) for item in row.entries])


def create_version(
    session: Session,
    tenant_id: int,
    name: str,
    kb: KnowledgeBase,
    source: str = "",
    note: str = "",
    restored_from: int | None = None,
) -> tuple[KnowledgeBaseVersion, int | None]:
    """Store ``kb`` as the new active version of the base ``name`` (created if new); returns the new version and
    the number of the version that was active before (None for a new base)."""
    check_name(name)
    if not kb.entries:
        raise InvalidOptionError("a knowledge base needs at least one entry")
    if len(note) > MAX_NOTE_CHARS:
        raise InvalidOptionError(f"the note is longer than {MAX_NOTE_CHARS} characters")
    query = select(StoredKnowledgeBase).where(
        StoredKnowledgeBase.tenant_id == tenant_id, StoredKnowledgeBase.name == name
    )
    base = session.scalars(query.with_for_update()).first()
    if base is None:
        base = StoredKnowledgeBase(tenant_id=tenant_id, name=name, latest_version=0)
        session.add(base)
        previous = None
    elif base.deleted_at is not None:
        base.deleted_at, previous = None, None
    else:
        previous = base.latest_version
    base.latest_version += 1
    session.flush()  # the base's id
    row = KnowledgeBaseVersion(
        base_id=base.id,
        version=base.latest_version,
        entries=[entry.to_dict() for entry in kb.entries],
        entry_count=len(kb.entries),
        source=source[:300],
        note=note,
        restored_from=restored_from,
    )
    session.add(row)
    session.flush()
    return row, previous


def get_base(session: Session, tenant_id: int, name: str) -> StoredKnowledgeBase:
    """A base of the tenant (NotFoundError if there is none of that name)."""
    query = select(StoredKnowledgeBase).where(
        StoredKnowledgeBase.tenant_id == tenant_id,
        StoredKnowledgeBase.name == name,
        StoredKnowledgeBase.deleted_at.is_(None),
    )
    base = session.scalars(query).first()
    if base is None:
        raise NotFoundError(f"no knowledge base named '{name[:70]}'")
    return base


def get_version(session: Session, tenant_id: int, name: str, version: int | None = None) -> KnowledgeBaseVersion:
    """One version of a base, the active one if ``version`` is None (NotFoundError if there is none)."""
    base = get_base(session, tenant_id, name)
    number = base.latest_version if version is None else version
    if not 1 <= number <= INT32_MAX:  # no version has it, and the database cannot compare it (the CLI's --version)
        raise NotFoundError(f"knowledge base '{name[:70]}' has no version {number}")
    row = session.scalars(
        select(KnowledgeBaseVersion).where(
            KnowledgeBaseVersion.base_id == base.id, KnowledgeBaseVersion.version == number
        )
    ).first()
    if row is None:
        raise NotFoundError(f"knowledge base '{name[:70]}' has no version {number}")
    return row


def get_active(session: Session, tenant_id: int, name: str) -> KnowledgeBaseVersion:
    """The active (newest) version of a base."""
    return get_version(session, tenant_id, name)


def list_bases(session: Session, tenant_id: int) -> list[tuple[StoredKnowledgeBase, KnowledgeBaseVersion]]:
    """The tenant's bases by name, each with its active version (entries not loaded)."""
    query = (
        select(StoredKnowledgeBase, KnowledgeBaseVersion)
        .join(
            KnowledgeBaseVersion,
            (KnowledgeBaseVersion.base_id == StoredKnowledgeBase.id)
            & (KnowledgeBaseVersion.version == StoredKnowledgeBase.latest_version),
        )
        .where(StoredKnowledgeBase.tenant_id == tenant_id, StoredKnowledgeBase.deleted_at.is_(None))
        .options(defer(KnowledgeBaseVersion.entries))
        .order_by(StoredKnowledgeBase.name)
    )
    return [(base, version) for base, version in session.execute(query)]


def list_versions(session: Session, tenant_id: int, name: str) -> list[KnowledgeBaseVersion]:
    """A base's versions, newest first (entries not loaded)."""
    base = get_base(session, tenant_id, name)
    query = (
        select(KnowledgeBaseVersion)
        .where(KnowledgeBaseVersion.base_id == base.id)
        .options(defer(KnowledgeBaseVersion.entries))
        .order_by(KnowledgeBaseVersion.version.desc())
    )
    return list(session.scalars(query))


def activate(session: Session, tenant_id: int, name: str, version: int) -> tuple[KnowledgeBaseVersion, int]:
    """Make an older version active again by copying it to a new version (the active one is left as it is).
    Returns the active version and the number of the version that was active before."""
    base = get_base(session, tenant_id, name)
    previous = base.latest_version
    old = get_version(session, tenant_id, name, version)
    if version == previous:
        return old, previous
    row, _ = create_version(
        session, tenant_id, name, entries_of(old), old.source, f"restored from version {version}", version
    )
    return row, previous


def delete_base(session: Session, tenant_id: int, name: str) -> None:
    """Remove a base and all its versions (NotFoundError if there is none of that name)."""
    base = get_base(session, tenant_id, name)
    session.execute(delete(KnowledgeBaseVersion).where(KnowledgeBaseVersion.base_id == base.id))
    base.deleted_at = utcnow()  # the row stays, so version numbers are not reused if the name is imported again


_cache: OrderedDict[tuple, KnowledgeBase] = OrderedDict()
_cache_lock = threading.Lock()


def active(session: Session, tenant_id: int, name: str) -> ActiveBase:
    """The tenant's base ``name`` at its active version, for retrieval (NotFoundError if there is none).

    Only the version number is read when the entries of that version are in the process's cache (the last few
    bases used); a retriever can likewise keep its index by ``(tenant_id, name, version)`` (within one database)."""
    found = session.execute(
        select(StoredKnowledgeBase.id, StoredKnowledgeBase.latest_version).where(
            StoredKnowledgeBase.tenant_id == tenant_id,
            StoredKnowledgeBase.name == name,
            StoredKnowledgeBase.deleted_at.is_(None),
        )
    ).first()
    if found is None:
        raise NotFoundError(f"no knowledge base named '{name[:70]}'")
    base_id, version = found
    key = (session.get_bind().url.render_as_string(), tenant_id, name, version)
    with _cache_lock:
        kb = _cache.get(key)
        if kb is not None:
            _cache.move_to_end(key)
            return ActiveBase(name, version, kb)
    row = session.scalars(
        select(KnowledgeBaseVersion).where(
            KnowledgeBaseVersion.base_id == base_id, KnowledgeBaseVersion.version == version
        )
    ).first()
    if row is None:  # deleted between the two reads
        raise NotFoundError(f"no knowledge base named '{name[:70]}'")
    kb = entries_of(row)
    with _cache_lock:
        _cache[key] = kb
        _cache.move_to_end(key)
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return ActiveBase(name, version, kb)
