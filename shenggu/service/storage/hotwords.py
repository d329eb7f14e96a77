"""Per-tenant hotword lists: stored, listed, deleted, and merged into each request's hotwords."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from shenggu.errors import InvalidOptionError
from shenggu.service.storage.models import HotwordList
from shenggu.service.storage.named import NamedRows
from shenggu.text.lists import split_commas

DEFAULT_LIST = "default"
"""The list applied to every recognition request of its tenant."""
MAX_WORDS = 200
MAX_WORD_CHARS = 40

_rows = NamedRows(HotwordList, "hotword list")
check_name = _rows.check_name
get = _rows.get
list_all = _rows.list_all
delete = _rows.delete


def clean_words(words: str | Sequence[str]) -> list[str]:
    """Validated, de-duplicated terms, in order (a stored list's, or a request's own ``hotwords``)."""
    cleaned = list(dict.fromkeys(split_commas(words)))
    if len(cleaned) > MAX_WORDS:
        raise InvalidOptionError(f"at most {MAX_WORDS} hotwords are allowed, not {len(cleaned)}")
    too_long = [w for w in cleaned if len(w) > MAX_WORD_CHARS]
    if too_long:
        raise InvalidOptionError(f"hotword '{too_long[0][:50]}' is longer than {MAX_WORD_CHARS} characters")
    return cleaned


def put(session: Session, tenant_id: int, name: str, words: Sequence[str]) -> HotwordList:
    """Create or replace a list."""
    row = _rows.get_or_add(session, tenant_id, name)
    row.words = clean_words(words)
    session.flush()
    return row


def words_for(session: Session, tenant_id: int, names: Sequence[str], request_words: Sequence[str]) -> list[str]:
    """A request's hotwords: its own, then those of the named lists, then the tenant's default list.

    Naming an unknown list is an error (a typo would silently lose the terms); a missing default list is not."""
    words = list(request_words)
    for name in split_commas(names):
        words += get(session, tenant_id, name).words
    default = _rows.find(session, tenant_id, DEFAULT_LIST)
    if default is not None:
        words += default.words
    return list(dict.fromkeys(words))
