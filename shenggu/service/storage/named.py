"""A tenant's named rows (hotword lists, glossaries): one name per tenant, found, listed, created and deleted the
same way whatever the row holds."""

from __future__ import annotations

from typing import Generic, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from shenggu.service.storage.names import check_slug
from shenggu.service.storage.tenants import NotFoundError

Row = TypeVar("Row")


class NamedRows(Generic[Row]):
    """Access to one table of per-tenant rows with a unique ``name`` (the model has ``tenant_id`` and ``name``)."""

    def __init__(self, model: type[Row], kind: str) -> None:
        self.model = model
        self.kind = kind

    def check_name(self, name: str) -> str:
        """A name: 1-64 letters, digits, ``_``, ``.`` or ``-``, not ``.`` or ``..``."""
        return check_slug(name, self.kind)

    def find(self, session: Session, tenant_id: int, name: str) -> Row | None:
        """The tenant's row of that name, or None."""
        model = self.model
        query = select(model).where(model.tenant_id == tenant_id, model.name == name)  # type: ignore[attr-defined]
        return session.scalars(query).first()

    def get(self, session: Session, tenant_id: int, name: str) -> Row:
        """The tenant's row of that name (NotFoundError if there is none)."""
        row = self.find(session, tenant_id, name)
        if row is None:
            raise NotFoundError(f"no {self.kind} named '{name[:70]}'")
        return row

    def get_or_add(self, session: Session, tenant_id: int, name: str) -> Row:
        """The tenant's row of that (checked) name, a new one added to the session if there is none."""
        row = self.find(session, tenant_id, self.check_name(name))
        if row is None:
            row = self.model(tenant_id=tenant_id, name=name)  # type: ignore[call-arg]
            session.add(row)
        return row

    def list_all(self, session: Session, tenant_id: int) -> list[Row]:
        """The tenant's rows, by name."""
        model = self.model
        query = select(model).where(model.tenant_id == tenant_id).order_by("name")  # type: ignore[attr-defined]
        return list(session.scalars(query))

    def delete(self, session: Session, tenant_id: int, name: str) -> None:
        """Remove a row (NotFoundError if there is none of that name)."""
        session.delete(self.get(session, tenant_id, name))
