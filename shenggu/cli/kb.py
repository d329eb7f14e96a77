"""``shenggu kb``: a tenant's FAQ knowledge bases in the local database (import, export, list, versions)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from shenggu.cli.base import app, friendly_errors

kb_app = typer.Typer(no_args_is_help=True, help="FAQ knowledge bases: import and export CSV, TSV, XLSX, Markdown.")
app.add_typer(kb_app, name="kb")

FormatOption = Annotated[str | None, typer.Option("--format", "-f", help="csv, tsv, xlsx or md (default: extension).")]
TenantOption = Annotated[str, typer.Option(help="Tenant name (dev: the development mode's tenant).")]


def _database():
    from shenggu.config import get_settings
    from shenggu.service.app import open_database

    return open_database(get_settings())


def _tenant_id(session, name: str) -> int:
    """The id of the tenant called ``name``; only the development tenant is created when missing."""
    from sqlalchemy import select

    from shenggu.service.auth import DEV_TENANT
    from shenggu.service.storage import tenants
    from shenggu.service.storage.models import Tenant

    tenant = session.scalar(select(Tenant).where(Tenant.name == name.strip()))
    if tenant is None:
        if name != DEV_TENANT:
            raise tenants.NotFoundError(f"no tenant named '{name[:100]}' (create one with `shenggu keys create`)")
        tenant = tenants.get_or_create_tenant(session, name)
    return tenant.id


@kb_app.command("import")
@friendly_errors
def kb_import(
    file: Annotated[Path, typer.Argument(help="CSV, TSV, XLSX or Markdown (.md) file.")],
    name: Annotated[str, typer.Option("--name", "-n", help="The knowledge base's name.")],
    tenant: TenantOption = "dev",
    fmt: FormatOption = None,
    note: Annotated[str, typer.Option(help="Why this version (shown by `kb versions`).")] = "",
) -> None:
    """Import a file as a new version of a knowledge base (the previous version is kept)."""
    from shenggu.nlp.faq.files import read_kb
    from shenggu.service.storage import knowledge

    knowledge.check_name(name)
    kb = read_kb(file, fmt)
    with _database().session() as session:
        tenant_id = _tenant_id(session, tenant)
        row, previous = knowledge.create_version(session, tenant_id, name, kb, file.name, note)
        since = f" (previous version {previous})" if previous else " (new knowledge base)"
        typer.echo(f"imported {file.name} into '{name}': version {row.version}, {row.entry_count} entries{since}")


@kb_app.command("export")
@friendly_errors
def kb_export(
    name: Annotated[str, typer.Option("--name", "-n", help="The knowledge base's name.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output file; its extension picks the format.")],
    tenant: TenantOption = "dev",
    fmt: FormatOption = None,
    version: Annotated[int | None, typer.Option(help="A version number (default: the active one).")] = None,
) -> None:
    """Write a knowledge base (the active version, or --version) to a file that imports back the same."""
    from shenggu.nlp.faq.files import format_of, write_kb
    from shenggu.service.storage import knowledge

    chosen = format_of(out.name, fmt)
    with _database().session() as session:
        row = knowledge.get_version(session, _tenant_id(session, tenant), name, version)
        kb, number = knowledge.entries_of(row), row.version
    write_kb(kb, out, chosen)
    typer.echo(f"wrote '{name}' version {number} ({len(kb.entries)} entries) to {out}")


@kb_app.command("list")
@friendly_errors
def kb_list(tenant: TenantOption = "dev") -> None:
    """List the tenant's knowledge bases with their active versions."""
    from shenggu.service.storage import knowledge

    with _database().session() as session:
        for base, active in knowledge.list_bases(session, _tenant_id(session, tenant)):
            typer.echo(
                f"{base.name:24} v{active.version:<4} {active.entry_count:6} entries  "
                f"{active.created_at:%Y-%m-%d %H:%M}  {active.source}"
            )


@kb_app.command("versions")
@friendly_errors
def kb_versions(
    name: Annotated[str, typer.Argument(help="The knowledge base's name.")], tenant: TenantOption = "dev"
) -> None:
    """List a knowledge base's versions, newest (active) first."""
    from shenggu.service.storage import knowledge

    with _database().session() as session:
        rows = knowledge.list_versions(session, _tenant_id(session, tenant), name)
        for row in rows:
            state = "active" if row is rows[0] else "      "
            typer.echo(
                f"v{row.version:<4} {state} {row.entry_count:6} entries  {row.created_at:%Y-%m-%d %H:%M}  "
                f"{row.source}{'  ' + row.note if row.note else ''}"
            )


@kb_app.command("activate")
@friendly_errors
def kb_activate(
    name: Annotated[str, typer.Argument(help="The knowledge base's name.")],
    version: Annotated[int, typer.Argument(help="The version to make active again.")],
    tenant: TenantOption = "dev",
) -> None:
    """Make an older version active again (copied to a new version; nothing is lost)."""
    from shenggu.service.storage import knowledge

    with _database().session() as session:
        row, previous = knowledge.activate(session, _tenant_id(session, tenant), name, version)
    if row.version == previous:
        typer.echo(f"'{name}' version {version} is already active")
    else:
        typer.echo(f"'{name}': version {version} is active again as version {row.version}")


@kb_app.command("delete")
@friendly_errors
def kb_delete(
    name: Annotated[str, typer.Argument(help="The knowledge base's name.")], tenant: TenantOption = "dev"
) -> None:
    """Remove a knowledge base and all its versions."""
    from shenggu.service.storage import knowledge

    with _database().session() as session:
        knowledge.delete_base(session, _tenant_id(session, tenant), name)
    typer.echo(f"deleted '{name}'")
