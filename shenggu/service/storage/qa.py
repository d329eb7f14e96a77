"""Call-centre quality inspection (客服质检) per tenant: named rulesets, versioned and append-only like knowledge
bases, and the inspections that used them.

A ruleset version keeps the rules text exactly as uploaded (YAML or JSON); it is parsed and validated before it
is stored, so every stored version can be used. The newest version is the active one; activating an older one
copies it to a new version, and numbers are never reused (not even after a delete), so an inspection's
``(ruleset, ruleset_version)`` always names the rules that judged it. The bundled rulesets (``bank_default``) are
readable by every tenant under their names and stored nowhere; those names cannot be uploaded to.

An inspection made by a job carries the job's status until the job stores its outcome here (``job_finished``).
Another tenant's ruleset or inspection is reported as not found.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from dataclasses import dataclass, replace
from importlib import resources

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, defer

from shenggu.errors import InvalidOptionError
from shenggu.service.storage import jobs
from shenggu.service.storage.models import INT32_MAX, Job, RulesetVersion, StoredInspection, StoredRuleset, utcnow
from shenggu.service.storage.names import check_slug
from shenggu.service.storage.tenants import NotFoundError
from shenggu.solutions.qa.rules import RulesError, Ruleset
from shenggu.solutions.qa.rules_file import BUNDLED, parse_rules_text

MAX_RULES_CHARS = 200_000  # of a rules text (the bundled example has under 4,000)
MAX_NOTE_CHARS = 300


class RulesTooLargeError(InvalidOptionError):
    """A rules text longer than :data:`MAX_RULES_CHARS`."""

    code = "rules_too_large"
    http_status = 413


@dataclass(frozen=True)
class StoredRules:
    """A ruleset at one version, ready to judge calls. ``ruleset`` carries the stored name and version number, so
    every call result names them; ``title`` and ``label`` are the name and version the text gives itself, ``text``
    the rules as uploaded (``format`` yaml or json). A bundled ruleset has no creation time, note or history."""

    name: str
    version: int
    ruleset: Ruleset
    title: str
    label: str
    text: str
    format: str
    bundled: bool = False
    created_at: dt.datetime | None = None
    note: str = ""
    restored_from: int | None = None


def check_name(name: str) -> str:
    """A ruleset name: 1-64 letters, digits, ``_``, ``.`` or ``-``, not ``.`` or ``..``."""
    return check_slug(name, "ruleset")


def _format_of(text: str) -> str:
    try:
        json.loads(text)
    except ValueError:
        return "yaml"
    return "json"


def parse_text(text: str, source: str = "rules") -> Ruleset:
    """The ruleset a rules text (YAML or JSON) writes; RulesError naming the line and the rule when it is bad
    (or when it writes characters that are not Unicode: escaped unpaired surrogates), RulesTooLargeError past
    :data:`MAX_RULES_CHARS`."""
    if len(text) > MAX_RULES_CHARS:
        raise RulesTooLargeError(f"the rules text has {len(text)} characters; the limit is {MAX_RULES_CHARS}")
    try:
        ruleset = parse_rules_text(text, source)
    except RulesError as exc:  # its message quotes the text, which may hold the escapes
        raise RulesError(_readable(exc.message)) from None
    try:
        json.dumps(ruleset.to_data(), ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise RulesError(f"{source}: the rules hold characters that are not Unicode (unpaired surrogates)") from None
    return ruleset


def _readable(message: str) -> str:
    """``message`` with unpaired surrogates (not encodable, so not sendable) written as escapes."""
    return message.encode("utf-8", "backslashreplace").decode("utf-8")


def _rules(name: str, row: RulesetVersion) -> StoredRules:
    parsed = parse_text(row.text, name)
    return StoredRules(
        name,
        row.version,
        replace(parsed, name=name, version=str(row.version)),
        parsed.name,
        parsed.version,
        row.text,
        row.format,
        created_at=row.created_at,
        note=row.note,
        restored_from=row.restored_from,
    )


def bundled(name: str) -> StoredRules:
    """A bundled ruleset as every tenant sees it: version the number its file gives (1 if it gives no number)."""
    text = resources.files("shenggu.solutions.qa").joinpath("data", f"{name}.yaml").read_text(encoding="utf-8")
    parsed = parse_text(text, f"{name}.yaml")
    number = int(parsed.version) if parsed.version.isdigit() else 1
    ruleset = replace(parsed, name=name, version=str(number))
    return StoredRules(name, number, ruleset, parsed.name, parsed.version, text, "yaml", bundled=True)


def create_version(
    session: Session, tenant_id: int, name: str, text: str, note: str = "", restored_from: int | None = None
) -> tuple[StoredRules, int | None]:
    """Store ``text`` (validated first) as the new active version of the ruleset ``name`` (created if new);
    returns it and the number of the version that was active before (None for a new ruleset)."""
    check_name(name)
    if name in BUNDLED:
        raise InvalidOptionError(f"'{name}' is the bundled ruleset's name; upload under another name")
    if len(note) > MAX_NOTE_CHARS:
        raise InvalidOptionError(f"the note is longer than {MAX_NOTE_CHARS} characters")
    parsed = parse_text(text, name)
    query = select(StoredRuleset).where(StoredRuleset.tenant_id == tenant_id, StoredRuleset.name == name)
    stored = session.scalars(query.with_for_update()).first()
    if stored is None:
        stored = StoredRuleset(tenant_id=tenant_id, name=name, latest_version=0)
        session.add(stored)
        previous = None
    elif stored.deleted_at is not None:
        stored.deleted_at, previous = None, None
    else:
        previous = stored.latest_version
    stored.latest_version += 1
    session.flush()  # the ruleset's id
    row = RulesetVersion(
        ruleset_id=stored.id,
        version=stored.latest_version,
        text=text,
        format=_format_of(text),
        title=parsed.name[:200],
        label=parsed.version[:100],
        rule_count=len(parsed.rules),
        note=note,
        restored_from=restored_from,
    )
    session.add(row)
    session.flush()
    return _rules(name, row), previous


def get_ruleset(session: Session, tenant_id: int, name: str) -> StoredRuleset:
    """A ruleset the tenant stored (NotFoundError if there is none of that name)."""
    query = select(StoredRuleset).where(
        StoredRuleset.tenant_id == tenant_id, StoredRuleset.name == name, StoredRuleset.deleted_at.is_(None)
    )
    stored = session.scalars(query).first()
    if stored is None:
        raise NotFoundError(f"no ruleset named '{name[:70]}'")
    return stored


def _version_row(session: Session, stored: StoredRuleset, version: int | None) -> RulesetVersion:
    number = stored.latest_version if version is None else version
    row = None
    if 1 <= number <= INT32_MAX:  # else no version has it, and the database could not compare it
        query = select(RulesetVersion).where(RulesetVersion.ruleset_id == stored.id, RulesetVersion.version == number)
        row = session.scalars(query).first()
    if row is None:
        raise NotFoundError(f"ruleset '{stored.name[:70]}' has no version {number}")
    return row


def get_rules(session: Session, tenant_id: int, name: str, version: int | None = None) -> StoredRules:
    """The ruleset ``name`` at ``version`` (the active one if None): the tenant's, or a bundled one."""
    if name in BUNDLED:
        rules = bundled(name)
        if version not in (None, rules.version):
            raise NotFoundError(f"the bundled ruleset '{name}' has only version {rules.version}")
        return rules
    stored = get_ruleset(session, tenant_id, name)
    return _rules(name, _version_row(session, stored, version))


def list_rulesets(session: Session, tenant_id: int) -> list[tuple[StoredRuleset, RulesetVersion]]:
    """The tenant's stored rulesets by name, each with its active version (texts not loaded)."""
    query = (
        select(StoredRuleset, RulesetVersion)
        .join(
            RulesetVersion,
            (RulesetVersion.ruleset_id == StoredRuleset.id) & (RulesetVersion.version == StoredRuleset.latest_version),
        )
        .where(StoredRuleset.tenant_id == tenant_id, StoredRuleset.deleted_at.is_(None))
        .options(defer(RulesetVersion.text))
        .order_by(StoredRuleset.name)
    )
    return [(stored, version) for stored, version in session.execute(query)]


def list_versions(session: Session, tenant_id: int, name: str) -> list[RulesetVersion]:
    """A stored ruleset's versions, newest (the active one) first (texts not loaded)."""
    stored = get_ruleset(session, tenant_id, name)
    query = (
        select(RulesetVersion)
        .where(RulesetVersion.ruleset_id == stored.id)
        .options(defer(RulesetVersion.text))
        .order_by(RulesetVersion.version.desc())
    )
    return list(session.scalars(query))


def activate(session: Session, tenant_id: int, name: str, version: int) -> tuple[StoredRules, int]:
    """Make an older version active again by copying it to a new version (the active one is left as it is);
    activating the active version changes nothing. Returns the active version and the one active before."""
    if name in BUNDLED:
        raise InvalidOptionError(f"the bundled ruleset '{name}' has one version and cannot be changed")
    stored = get_ruleset(session, tenant_id, name)
    previous = stored.latest_version
    old = _version_row(session, stored, version)
    if version == previous:
        return _rules(name, old), previous
    rules, _ = create_version(session, tenant_id, name, old.text, f"restored from version {version}", version)
    return rules, previous


def delete_ruleset(session: Session, tenant_id: int, name: str) -> None:
    """Remove a stored ruleset and its versions (inspections keep the name and version they used)."""
    if name in BUNDLED:
        raise InvalidOptionError(f"the bundled ruleset '{name}' cannot be deleted")
    stored = get_ruleset(session, tenant_id, name)
    session.execute(delete(RulesetVersion).where(RulesetVersion.ruleset_id == stored.id))
    stored.deleted_at = utcnow()  # the row stays, so version numbers are not reused if the name is uploaded again


# --------------------------------------------------------------------------------------------------------
# Inspections
# --------------------------------------------------------------------------------------------------------


def new_inspection_id() -> str:
    """An inspection id: random, so ids cannot be guessed across tenants."""
    return secrets.token_hex(12)


def create_inspection(
    session: Session,
    tenant_id: int,
    source: str,
    rules: StoredRules,
    item_count: int,
    outcome: dict | None = None,
    *,
    inspection_id: str | None = None,
    job_id: str | None = None,
) -> StoredInspection:
    """Insert an inspection by ``rules``: a finished one (``outcome`` given: ``results``, ``failures``,
    ``batch``), or one its job ``job_id`` will fill (queued)."""
    row = StoredInspection(
        id=inspection_id or new_inspection_id(),
        tenant_id=tenant_id,
        source=source,
        status="succeeded" if outcome is not None else "queued",
        job_id=job_id,
        ruleset=rules.name,
        ruleset_version=rules.version,
        item_count=item_count,
        **_outcome_columns(outcome),
    )
    session.add(row)
    session.flush()
    return row


def _outcome_columns(outcome: dict | None) -> dict:
    if outcome is None:
        return {}
    return {key: outcome.get(key) for key in ("results", "failures", "batch")}


def get_inspection(session: Session, tenant_id: int, inspection_id: str) -> StoredInspection:
    """The tenant's inspection (NotFoundError for an unknown id or another tenant's)."""
    row = session.get(StoredInspection, inspection_id)
    if row is None or row.tenant_id != tenant_id:
        raise NotFoundError(f"no inspection with id '{inspection_id[:40]}'")
    return row


def job_of(session: Session, row: StoredInspection) -> Job | None:
    """The job that inspects the recordings, if one does."""
    return session.get(Job, row.job_id) if row.job_id else None


def status_of(row: StoredInspection, job: Job | None) -> str:
    """The inspection's status: its job's while the job has not stored its outcome here, else its own."""
    if row.status in jobs.ACTIVE and job is not None:
        return job.status
    return row.status


def page(session: Session, tenant_id: int, limit: int, offset: int) -> tuple[list[StoredInspection], int]:
    """The tenant's inspections, newest first (results not loaded), and how many there are."""
    base = select(StoredInspection).where(StoredInspection.tenant_id == tenant_id)
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    newest = base.order_by(StoredInspection.created_at.desc(), StoredInspection.id).options(
        defer(StoredInspection.results), defer(StoredInspection.failures), defer(StoredInspection.batch)
    )
    return list(session.scalars(newest.limit(limit).offset(offset))), total


def delete_inspection(session: Session, tenant_id: int, inspection_id: str) -> StoredInspection:
    """Remove an inspection; a job still running it is cancelled (NotFoundError for an unknown id). Returns the
    removed row (its job id says which result files to remove)."""
    row = get_inspection(session, tenant_id, inspection_id)
    if row.job_id and row.status in jobs.ACTIVE:
        jobs.cancel(session, tenant_id, row.job_id)
    session.delete(row)
    return row


def job_finished(session: Session, job_id: str, outcome: dict | None, failed: bool) -> None:
    """Store the outcome of the job that inspects recordings: its status, and (when it succeeded) the results,
    failures and batch aggregates. An inspection deleted meanwhile stays deleted."""
    values: dict = {"status": "failed" if failed else "succeeded", "updated_at": utcnow(), **_outcome_columns(outcome)}
    session.execute(update(StoredInspection).where(StoredInspection.job_id == job_id).values(**values))
