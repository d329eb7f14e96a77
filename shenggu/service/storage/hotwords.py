"""Per-tenant hotword lists: stored, listed, deleted, and merged into each request's hotwords."""

from __future__ import annotations

import re
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from shenggu.asr.hotwords import split_hotwords
from shenggu.errors import InvalidOptionError
from shenggu.service.storage.models import HotwordList
from shenggu.service.storage.tenants import NotFoundError

DEFAULT_LIST = "default"
"""The list applied to every recognition request of its tenant."""
MAX_WORDS = 200
MAX_WORD_CHARS = 40
_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def check_name(name: str) -> str:
    """A list name: 1-64 letters, digits, ``_``, ``.`` or ``-``."""
    if not _NAME.fullmatch(name):
        raise InvalidOptionError(f"invalid hotword list name '{name[:70]}' (1-64 of A-Z a-z 0-9 _ . -)")
    return name


def clean_words(words: Sequence[str]) -> list[str]:
    """Validated, de-duplicated terms, in order."""
    cleaned = list(dict.fromkeys(split_hotwords(words)))
    if len(cleaned) > MAX_WORDS:
        raise InvalidOptionError(f"a hotword list holds at most {MAX_WORDS} terms, not {len(cleaned)}")
    too_long = [w for w in cleaned if len(w) > MAX_WORD_CHARS]
    if too_long:
        raise InvalidOptionError(f"hotword '{too_long[0][:50]}' is longer than {MAX_WORD_CHARS} characters")
    return cleaned


def put(session: Session, tenant_id: int, name: str, words: Sequence[str]) -> HotwordList:
    """Create or replace a list."""
    row = _find(session, tenant_id, check_name(name))
    if row is None:
        row = HotwordList(tenant_id=tenant_id, name=name)
        session.add(row)
    row.words = clean_words(words)
    session.flush()
    return row


def get(session: Session, tenant_id: int, name: str) -> HotwordList:
    """One list of the tenant (NotFoundError if there is none of that name)."""
    row = _find(session, tenant_id, name)
    if row is None:
        raise NotFoundError(f"no hotword list named '{name[:70]}'")
    return row


def list_all(session: Session, tenant_id: int) -> list[HotwordList]:
    """The tenant's lists, by name."""
    return list(session.scalars(select(HotwordList).where(HotwordList.tenant_id == tenant_id).order_by("name")))


def delete(session: Session, tenant_id: int, name: str) -> None:
    """Remove a list (NotFoundError if there is none of that name)."""
    session.delete(get(session, tenant_id, name))


def words_for(session: Session, tenant_id: int, names: Sequence[str], request_words: Sequence[str]) -> list[str]:
    """A request's hotwords: its own, then those of the named lists, then the tenant's default list.

    Naming an unknown list is an error (a typo would silently lose the terms); a missing default list is not."""
    words = list(request_words)
    for name in split_hotwords(names):
        words += get(session, tenant_id, name).words
    default = _find(session, tenant_id, DEFAULT_LIST)
    if default is not None:
        words += default.words
    return list(dict.fromkeys(words))


def _find(session: Session, tenant_id: int, name: str) -> HotwordList | None:
    query = select(HotwordList).where(HotwordList.tenant_id == tenant_id, HotwordList.name == name)
    return session.scalars(query).first()
