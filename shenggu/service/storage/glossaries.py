"""Per-tenant translation glossaries: stored, listed, deleted, and merged into each translation's terms.

The glossary named ``default`` applies to every translation of its tenant (text, speech, jobs); others apply when
a request names them. A request's own terms win over stored ones for the same source term."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy.orm import Session

from shenggu.errors import InvalidOptionError
from shenggu.service.storage.models import Glossary
from shenggu.service.storage.named import NamedRows
from shenggu.translate.glossary import MAX_TERMS, check_glossary

DEFAULT_GLOSSARY = "default"

_rows = NamedRows(Glossary, "glossary")
get = _rows.get
list_all = _rows.list_all
delete = _rows.delete


def put(session: Session, tenant_id: int, name: str, terms: Mapping[str, str]) -> Glossary:
    """Create or replace a glossary."""
    row = _rows.get_or_add(session, tenant_id, name)
    row.terms = check_glossary(dict(terms))
    session.flush()
    return row


def terms_for(
    session: Session, tenant_id: int, names: Sequence[str], request_terms: Mapping[str, str]
) -> dict[str, str]:
    """A request's glossary: the tenant's default glossary, then the named ones, then the request's own terms
    (later ones win). Naming an unknown glossary is an error; a missing default glossary is not."""
    terms: dict[str, str] = {}
    default = _rows.find(session, tenant_id, DEFAULT_GLOSSARY)
    if default is not None:
        terms.update(default.terms)
    for name in names:
        terms.update(get(session, tenant_id, name).terms)
    terms.update(request_terms)
    if len(terms) > MAX_TERMS:
        raise InvalidOptionError(f"the glossaries of this request hold {len(terms)} terms, at most {MAX_TERMS}")
    return terms
