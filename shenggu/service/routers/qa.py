"""Call-centre quality inspection (客服质检): ``/v1/qa/rules`` and ``/v1/qa/inspections``.

Rulesets are stored per tenant, named and versioned like knowledge bases: ``POST /v1/qa/rules`` uploads a rules
file (YAML or JSON, validated: a mistake is a 400 naming the line and the rule) as the new active version, and an
older version is made active again by copying it. The bundled ``bank_default`` is readable by every tenant.

``POST /v1/qa/inspections`` judges calls transcribed elsewhere (JSON: 201 with the results at once) or recordings
(multipart ``files``, with an optional ``metadata`` CSV: 202, and a ``qa_inspection`` job recognizes each
recording, one party per channel or diarized, and judges it; an item that cannot be read is reported among the
results, and the others go on). An inspection records the ruleset and the version that judged it; its report
(HTML, CSV, JSON) is at ``/v1/qa/inspections/{id}/report``. Jobs, quotas, rate limits and metering are those of
``/v1/jobs``: audio seconds for recordings, characters for transcripts.

A recordings inspection serves each recording as uploaded at ``/v1/qa/inspections/{id}/audio/{item}`` (range
requests, so a player can seek); its results give each call that ``audio_url`` and each piece of evidence the link
to its moment (``#t=START[,END]``, W3C Media Fragments), and its HTML report links each finding there.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import shutil
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import FileResponse, JSONResponse
from starlette.concurrency import run_in_threadpool

from shenggu.config import Settings
from shenggu.errors import InvalidOptionError, ShengguError
from shenggu.service.deps import DatabaseDep, DbSessionDep, PrincipalDep, RateLimiterDep, SettingsDep
from shenggu.service.errors import ErrorBody, error_responses
from shenggu.service.limits import RateLimiter
from shenggu.service.qa_requests import (
    UPLOAD_SCHEMA,
    YAML_TYPES,
    content_type,
    is_json,
    queue_recordings,
    read_calls,
    read_rules_upload,
)
from shenggu.service.qa_tasks import (
    QA_TASK,
    inspect_calls,
    qa_outcome,
    recording_type,
    stored_recording,
    stored_uploads,
    with_audio_urls,
)
from shenggu.service.schemas import form_or_json_body, inline_schema
from shenggu.service.schemas.qa import (
    INSPECTION,
    ActivateBody,
    InspectCallsBody,
    InspectionAccepted,
    Inspections,
    InspectionView,
    RulesetBody,
    Rulesets,
    RulesetVersions,
    RulesetView,
    UploadedRuleset,
)
from shenggu.service.storage import qa as qa_store
from shenggu.service.storage import usage
from shenggu.service.storage.db import Database
from shenggu.service.storage.models import INT32_MAX, Job, RulesetVersion, StoredInspection
from shenggu.service.storage.qa import StoredRules
from shenggu.service.storage.tenants import NotFoundError, Principal
from shenggu.service.worker import job_results_dir
from shenggu.solutions.qa.report import write_batch_report
from shenggu.solutions.qa.rules_file import BUNDLED

router = APIRouter(
    prefix="/v1/qa", tags=["quality inspection"], responses=error_responses(400, 401, 404, 413, 422, 429)
)

REPORT_FILES = {"html": ("report.html", "text/html"), "csv": ("calls.csv", "text/csv"), "json": ("batch.json", None)}


class InspectionNotReadyError(ShengguError):
    """The inspection's job has not finished (or failed): there is no report to read."""

    code = "inspection_not_ready"
    http_status = 409


def _utc(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).isoformat()  # SQLite gives UTC back naive


# --------------------------------------------------------------------------------------------------------
# Rulesets
# --------------------------------------------------------------------------------------------------------


def _rules_view(rules: StoredRules, active: int) -> dict:
    return {
        "name": rules.name,
        "version": rules.version,
        "title": rules.title,
        "label": rules.label,
        "rule_count": len(rules.ruleset.rules),
        "bundled": rules.bundled,
        "created_at": _utc(rules.created_at),
        "note": rules.note,
        "description": rules.ruleset.description,
        "format": rules.format,
        "restored_from": rules.restored_from,
        "active": rules.version == active,
        "rules": [rule.to_data() for rule in rules.ruleset.rules],
    }


_SUMMARY_KEYS = ("name", "version", "title", "label", "rule_count", "bundled", "created_at", "note")
_VERSION_KEYS = ("version", "title", "label", "rule_count", "created_at", "note", "restored_from", "active")


def _summary_of_version(name: str, row: RulesetVersion) -> dict:
    return {
        "name": name,
        "version": row.version,
        "title": row.title,
        "label": row.label,
        "rule_count": row.rule_count,
        "bundled": False,
        "created_at": _utc(row.created_at),
        "note": row.note,
    }


def _version_info(row: RulesetVersion, active: int) -> dict:
    info = _summary_of_version("", row)
    del info["name"], info["bundled"]
    return {**info, "restored_from": row.restored_from, "active": row.version == active}


_RULES_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            **{media: {"schema": {"type": "string", "description": "A rules file."}} for media in YAML_TYPES[:2]},
            "application/json": {
                "schema": {
                    "anyOf": [
                        inline_schema(RulesetBody.model_json_schema()),
                        {"type": "object", "description": "A rules file as JSON: {name, version, description, rules}."},
                    ]
                }
            },
        },
    }
}


@router.post("/rules", status_code=201, response_model=UploadedRuleset, openapi_extra=_RULES_BODY)
async def upload_ruleset(
    request: Request,
    database: DatabaseDep,
    limiter: RateLimiterDep,
    principal: PrincipalDep,
    name: Annotated[str | None, Query(max_length=64, description="Default: the ruleset's own name.")] = None,
) -> dict:
    """Upload a ruleset as its new active version: a rules file (``application/yaml``, ``text/yaml`` or
    ``application/json``; see ``shenggu/solutions/qa/rules.py`` for the rule kinds) or JSON ``{"name", "rules":
    text or object, "note"}``. It is validated first: a mistake is a 400 naming the line, the rule and the field.
    The previous version is kept (``GET .../versions``)."""
    limiter.check(principal)
    upload = await read_rules_upload(request, name)

    def store() -> dict:
        with database.session() as session:
            rules, previous = qa_store.create_version(
                session, principal.tenant_id, upload.name, upload.text, upload.note
            )
            return {**_rules_view(rules, rules.version), "previous_version": previous}

    return await run_in_threadpool(store)


@router.get("/rules", response_model=Rulesets)
def list_rulesets(session: DbSessionDep, principal: PrincipalDep) -> dict:
    """The caller's rulesets (each at its active version), then the bundled ones."""
    stored = [_summary_of_version(r.name, v) for r, v in qa_store.list_rulesets(session, principal.tenant_id)]
    return {"data": stored + [_bundled_view(name, _SUMMARY_KEYS) for name in BUNDLED]}


def _bundled_view(name: str, keys: tuple[str, ...]) -> dict:
    """Those ``keys`` of a bundled ruleset's view (its one version is the active one)."""
    rules = qa_store.bundled(name)
    view = _rules_view(rules, rules.version)
    return {key: view[key] for key in keys}


VersionQuery = Annotated[int | None, Query(ge=1, le=INT32_MAX, description="Default: the active version.")]
_RULES_TEXT = {
    200: {
        "description": "The version and its rules; with ``format=yaml`` the rules text as it was uploaded.",
        "content": {"application/yaml": {"schema": {"type": "string"}}},
    }
}


@router.get("/rules/{name}", response_model=RulesetView, responses=_RULES_TEXT)
def get_ruleset(
    name: str,
    session: DbSessionDep,
    principal: PrincipalDep,
    version: VersionQuery = None,
    fmt: Annotated[Literal["json", "yaml"], Query(alias="format", description="json, or yaml: the text.")] = "json",
) -> dict | Response:
    """A ruleset at a version (default: the active one) with its rules; ``format=yaml`` gives the stored text
    as it was uploaded (YAML, or JSON where it was uploaded as JSON, which YAML readers read too)."""
    rules = qa_store.get_rules(session, principal.tenant_id, name, version)
    if fmt == "yaml":
        media = "application/json" if rules.format == "json" else "application/yaml"
        filename = f"{name}-v{rules.version}.{'json' if rules.format == 'json' else 'yaml'}"
        headers = {"Content-Disposition": f'inline; filename="{filename}"'}
        return Response(rules.text, media_type=f"{media}; charset=utf-8", headers=headers)
    active = rules.version if rules.bundled else qa_store.get_ruleset(session, principal.tenant_id, name).latest_version
    return _rules_view(rules, active)


@router.get("/rules/{name}/versions", response_model=RulesetVersions)
def list_ruleset_versions(name: str, session: DbSessionDep, principal: PrincipalDep) -> dict:
    """Every version of a ruleset, newest (the active one) first."""
    if name in BUNDLED:
        return {"name": name, "bundled": True, "data": [_bundled_view(name, _VERSION_KEYS)]}
    rows = qa_store.list_versions(session, principal.tenant_id, name)
    return {"name": name, "bundled": False, "data": [_version_info(row, rows[0].version) for row in rows]}


@router.post("/rules/{name}/activate", response_model=UploadedRuleset)
def activate_ruleset_version(name: str, body: ActivateBody, session: DbSessionDep, principal: PrincipalDep) -> dict:
    """Make an older version active again: it is copied to a new version (the current one stays in the
    history). Activating the active version changes nothing."""
    rules, previous = qa_store.activate(session, principal.tenant_id, name, body.version)
    return {**_rules_view(rules, rules.version), "previous_version": previous}


@router.delete("/rules/{name}", status_code=204)
def delete_ruleset(name: str, session: DbSessionDep, principal: PrincipalDep) -> Response:
    """Remove a ruleset and its versions (inspections keep the name and version that judged them)."""
    qa_store.delete_ruleset(session, principal.tenant_id, name)
    return Response(status_code=204)


# --------------------------------------------------------------------------------------------------------
# Inspections: creating them
# --------------------------------------------------------------------------------------------------------

_CREATE_BODY = form_or_json_body(UPLOAD_SCHEMA, InspectCallsBody)
_ACCEPTED = {202: {"model": InspectionAccepted, "description": "Recordings accepted: a job inspects them"}}


@router.post(
    "/inspections",
    status_code=201,
    response_model=InspectionView,
    openapi_extra=_CREATE_BODY,
    responses={**_ACCEPTED, **error_responses(415)},
)
async def create_inspection(
    request: Request, settings: SettingsDep, database: DatabaseDep, limiter: RateLimiterDep, principal: PrincipalDep
) -> dict | JSONResponse:
    """Inspect calls. Transcripts (JSON ``{"rules", "version", "calls": [{"id", "utterances": [{"role", "start",
    "end", "text"}], "metadata"}]}``): 201 with each call's result and the batch aggregates. Recordings
    (multipart ``files``, optional ``metadata`` CSV, ``rules``, ``version``, ``channels``, ``agent_channel``,
    ``hotwords``, ``language``): 202, and a job inspects them; poll ``GET /v1/qa/inspections/{id}``."""
    media = content_type(request)
    if media == "multipart/form-data":
        inspection_id, job = await queue_recordings(request, settings, database, limiter, principal)
        body = {"id": inspection_id, "object": INSPECTION, "status": job.status, "job_id": job.id}
        return JSONResponse(InspectionAccepted(**body).model_dump(), status_code=202)
    if is_json(media):
        return await _calls_inspection(request, settings, database, limiter, principal)
    raise InvalidOptionError(
        "send recordings as multipart/form-data (field 'files') or transcripts as application/json "
        '({"rules": "bank_default", "calls": [...]})'
    )


async def _calls_inspection(
    request: Request, settings: Settings, database: Database, limiter: RateLimiter, principal: Principal
) -> dict:
    body, calls, characters = await read_calls(request)
    limiter.check(principal)
    with database.session() as session:
        rules = qa_store.get_rules(session, principal.tenant_id, body.rules, body.version)
    batch = await run_in_threadpool(inspect_calls, calls, rules.ruleset)
    inspection_id = qa_store.new_inspection_id()
    await run_in_threadpool(write_batch_report, batch, _inline_report_dir(settings, inspection_id))
    with database.session() as session:
        row = qa_store.create_inspection(
            session, principal.tenant_id, "calls", rules, len(calls), qa_outcome(batch), inspection_id=inspection_id
        )
        usage.record(session, principal.tenant_id, QA_TASK, characters=characters)
        return _view(row, None)


# --------------------------------------------------------------------------------------------------------
# Inspections: reading, listing, deleting
# --------------------------------------------------------------------------------------------------------


def _inline_report_dir(settings: Settings, inspection_id: str) -> Path:
    return settings.data_dir / "results" / f"qa-{inspection_id}"


def _report_dir(settings: Settings, row: StoredInspection) -> Path:
    """Where the inspection's report files are: its job's results, or its own folder."""
    return job_results_dir(settings.data_dir, row.job_id) if row.job_id else _inline_report_dir(settings, row.id)


def _summary(row: StoredInspection, job: Job | None) -> dict:
    return {
        "id": row.id,
        "object": INSPECTION,
        "status": qa_store.status_of(row, job),
        "source": row.source,
        "ruleset": row.ruleset,
        "ruleset_version": row.ruleset_version,
        "items": row.item_count,
        "job_id": row.job_id,
        "created_at": _utc(row.created_at),
        "updated_at": _utc(row.updated_at),
    }


def _view(row: StoredInspection, job: Job | None) -> dict:
    view = _summary(row, job)
    results = with_audio_urls(row.results, row.id) if row.source == "files" and row.results else row.results
    view.update(results=results, failures=row.failures, batch=row.batch)
    view["error"] = job.error if job is not None and view["status"] == "failed" else None
    return view


@router.get("/inspections/{inspection_id}", response_model=InspectionView)
def get_inspection(inspection_id: str, session: DbSessionDep, principal: PrincipalDep) -> dict:
    """An inspection: its status (its job's while the job runs), the ruleset and version that judged it; once
    done, each call with its result, the items that could not be inspected, and the batch aggregates."""
    row = qa_store.get_inspection(session, principal.tenant_id, inspection_id)
    return _view(row, qa_store.job_of(session, row))


_REPORT = {
    200: {
        "description": "report.html (default), calls.csv (a row per call) or batch.json (everything).",
        "content": {
            "text/html": {"schema": {"type": "string"}},
            "text/csv": {"schema": {"type": "string"}},
            "application/json": {"schema": {"type": "string", "format": "binary"}},
        },
    },
    409: {"model": ErrorBody, "description": "The inspection is not done (its job runs or failed)"},
}


@router.get("/inspections/{inspection_id}/report", response_class=FileResponse, responses=_REPORT)
def get_inspection_report(
    inspection_id: str,
    session: DbSessionDep,
    settings: SettingsDep,
    principal: PrincipalDep,
    fmt: Annotated[Literal["html", "csv", "json"], Query(alias="format", description="html, csv or json.")] = "html",
) -> FileResponse:
    """The inspection's report: ``html`` (summary, plots, scorecards, findings with the times to listen to),
    ``csv`` (a row per call: score, each rule's verdict, tags, talk ratios, metadata) or ``json``."""
    row = qa_store.get_inspection(session, principal.tenant_id, inspection_id)
    status = qa_store.status_of(row, qa_store.job_of(session, row))
    if status != "succeeded":
        raise InspectionNotReadyError(f"inspection {row.id} has no report (it is {status})")
    name, media = REPORT_FILES[fmt]
    path = _report_dir(settings, row) / name
    if not path.is_file():
        raise NotFoundError(f"the report of inspection {row.id} is gone")
    return FileResponse(path, media_type=media, filename=f"qa-{row.id}-{name}")


_AUDIO = {
    200: {
        "description": "The recording as uploaded (its media type guessed from its name), served inline; a "
        "``Range`` request gets 206 and those bytes.",
        "content": {
            media: {"schema": {"type": "string", "format": "binary"}}
            for media in ("audio/*", "video/*", "application/octet-stream")
        },
    },
    206: {"description": "The bytes a ``Range`` request asked for."},
}


@router.get("/inspections/{inspection_id}/audio/{item}", response_class=FileResponse, responses=_AUDIO)
def get_inspection_audio(inspection_id: str, item: str, session: DbSessionDep, principal: PrincipalDep) -> FileResponse:
    """The recording ``item`` (its name in the results) of a recordings inspection, as it was uploaded, for a
    player: ``Content-Disposition: inline``, and ``Range`` requests for seeking. A finding's moment is this URL
    with ``#t=START[,END]`` (the evidence's ``audio_url``). 404 for an inspection of transcripts, a call JSON
    file or an item the inspection does not have."""
    row = qa_store.get_inspection(session, principal.tenant_id, inspection_id)
    path = stored_recording(qa_store.job_of(session, row), item)
    return FileResponse(
        path,
        media_type=recording_type(item),
        filename=item,
        content_disposition_type="inline",
        headers={"X-Content-Type-Options": "nosniff"},  # the guessed type stands: no browser sniffs a page in it
    )


@router.get("/inspections", response_model=Inspections)
def list_inspections(
    session: DbSessionDep,
    principal: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> dict:
    """The caller's inspections, newest first (without their results: read one for them)."""
    rows, total = qa_store.page(session, principal.tenant_id, limit, offset)
    data = [_summary(row, qa_store.job_of(session, row)) for row in rows]
    return {"object": "list", "data": data, "total": total, "limit": limit, "offset": offset}


@router.delete("/inspections/{inspection_id}", status_code=204)
def delete_inspection(
    inspection_id: str, session: DbSessionDep, settings: SettingsDep, principal: PrincipalDep
) -> Response:
    """Delete an inspection, its report and its recordings as stored (a job still running it is cancelled): call
    recordings are personal data, kept no longer than the inspection."""
    uploads = stored_uploads(
        qa_store.job_of(session, qa_store.get_inspection(session, principal.tenant_id, inspection_id))
    )
    row = qa_store.delete_inspection(session, principal.tenant_id, inspection_id)
    with contextlib.suppress(OSError):
        shutil.rmtree(_report_dir(settings, row))
    for path in uploads:
        path.unlink(missing_ok=True)
    return Response(status_code=204)
