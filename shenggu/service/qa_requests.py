"""What the quality-inspection routes (``shenggu.service.routers.qa``) read from a request: a ruleset upload (YAML
or JSON, and the name to store it under), calls sent as transcripts, and recordings with their form fields, which
are stored durably and queued as one ``qa_inspection`` job.

An item's name in a batch (a file's name, a call's id) also names its report file, so it is cut to a file name:
no folders, no control characters, at most 200 bytes."""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from shenggu.audio import probe_duration
from shenggu.config import Settings
from shenggu.errors import InvalidOptionError, ShengguError
from shenggu.service.callbacks import DestinationPolicy, check_url
from shenggu.service.fields import form_flag
from shenggu.service.limits import RateLimiter, check_audio
from shenggu.service.qa_tasks import QA_TASK, QaItem, QaRequest, qa_manifest
from shenggu.service.schemas.qa import MAX_CHARACTERS, InspectCallsBody, RulesetBody
from shenggu.service.storage import hotwords as hotword_lists
from shenggu.service.storage import jobs
from shenggu.service.storage import qa as qa_store
from shenggu.service.storage import speakers as speaker_store
from shenggu.service.storage.db import Database
from shenggu.service.storage.models import INT32_MAX, Job
from shenggu.service.storage.names import check_slug
from shenggu.service.storage.qa import RulesTooLargeError, StoredRules
from shenggu.service.storage.tenants import Principal
from shenggu.service.uploads import StoredUpload, UploadTooLargeError, persist_upload
from shenggu.solutions.qa.batch import read_metadata
from shenggu.solutions.qa.record import Call, Utterance
from shenggu.solutions.qa.rules import RulesError
from shenggu.text.lists import split_commas

YAML_TYPES = ("application/yaml", "text/yaml", "application/x-yaml", "text/x-yaml")
MAX_RULES_BYTES = 4 * qa_store.MAX_RULES_CHARS  # UTF-8: at most 4 bytes a character
MAX_FILES = 100  # recordings (and call JSON files) in one inspection
MAX_METADATA_BYTES = 5 << 20
MAX_NAME_BYTES = 200  # of an item's name, which names its report file


class CallsTooLargeError(ShengguError):
    """More characters of transcripts in one request than the limit."""

    code = "calls_too_large"
    http_status = 413


def content_type(request: Request) -> str:
    """The request's media type, lower case, without parameters."""
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def is_json(media: str) -> bool:
    """Whether a media type is JSON."""
    return media == "application/json" or media.endswith("+json")


# --------------------------------------------------------------------------------------------------------
# Ruleset uploads
# --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RulesUpload:
    """A validated ruleset upload: the name to store it under, its text as sent, and the note."""

    name: str
    text: str
    note: str = ""


async def read_rules_upload(request: Request, query_name: str | None) -> RulesUpload:
    """The ruleset a request uploads: a rules file (YAML, or JSON) or JSON ``{name, rules, note}`` whose
    ``rules`` is the text or the object. Parsed before anything is stored: RulesError names the line and rule."""
    media = content_type(request)
    if media not in YAML_TYPES and not is_json(media):
        raise InvalidOptionError("send the rules as application/yaml, text/yaml or application/json")
    text, body_name, note = _uploaded_text(await _body_text(request, MAX_RULES_BYTES), media)
    ruleset = await run_in_threadpool(qa_store.parse_text, text, (query_name or body_name or "rules")[:64])
    return RulesUpload(_stored_name(query_name, body_name, ruleset.name), text, note)


async def _body_text(request: Request, limit: int) -> str:
    """The request body as UTF-8 text, refused past ``limit`` bytes while it streams in."""
    size, chunks = 0, []
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RulesTooLargeError(f"the rules are larger than the limit of {limit >> 10} KB")
        chunks.append(chunk)
    try:
        return b"".join(chunks).decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidOptionError("the rules must be UTF-8 text") from None


def _uploaded_text(text: str, media: str) -> tuple[str, str | None, str]:
    """The rules text of an upload, the name its JSON body gives (if any) and its note. A JSON body is the
    rules file itself (its ``rules`` is a list) or ``{name, rules, note}`` with ``rules`` a text or an object."""
    if not is_json(media):
        return text, None, ""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RulesError(f"rules, line {exc.lineno}, column {exc.colno}: not valid JSON: {exc.msg}") from None
    if not (isinstance(data, dict) and isinstance(data.get("rules"), str | dict)):
        return text, None, ""
    try:
        body = RulesetBody.model_validate(data)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False, include_context=False)) from None
    rules = body.rules if isinstance(body.rules, str) else json.dumps(body.rules, ensure_ascii=False, indent=2)
    return rules, body.name, body.note


def _stored_name(query_name: str | None, body_name: str | None, own_name: str) -> str:
    """The name to store a ruleset under: the one the request gives (query or body), else the ruleset's own."""
    if query_name and body_name and query_name != body_name:
        raise InvalidOptionError(f"two names given: '{query_name[:64]}' (query) and '{body_name[:64]}' (body)")
    given = query_name or body_name
    if given:
        return qa_store.check_name(given)
    try:
        return check_slug(own_name, "ruleset")
    except InvalidOptionError:
        raise InvalidOptionError(
            f"name the ruleset with ?name= or a JSON body's name: its own name '{own_name[:64]}' cannot name it "
            "(1-64 of A-Z a-z 0-9 _ . -)"
        ) from None


# --------------------------------------------------------------------------------------------------------
# Transcripts
# --------------------------------------------------------------------------------------------------------


def item_name(text: str, fallback: str) -> str:
    """A name for an item in the batch and its report files: a file name's last part, no control characters,
    short enough for any file system (:data:`MAX_NAME_BYTES`, room left for the report's ``.json``)."""
    name = PurePosixPath(text.replace("\\", "/")).name.strip()
    name = "".join(ch if ch.isprintable() else "_" for ch in name)
    name = name.encode("utf-8", "ignore")[:MAX_NAME_BYTES].decode("utf-8", "ignore").strip()
    return name if name and name not in (".", "..") else fallback


def _unique(names: list[str], what: str) -> list[str]:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise InvalidOptionError(f"two {what} are named '{name[:100]}': names must differ within an inspection")
        seen.add(name)
    return names


async def read_calls(request: Request) -> tuple[InspectCallsBody, list[tuple[str, Call]], int]:
    """The JSON body of a transcripts inspection, its calls (each with its item name: its id, else call-N) and
    their characters (which are metered). Raises for a bad call (naming it) or too many characters."""
    try:
        body = InspectCallsBody.model_validate_json(await request.body())
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False, include_context=False)) from None
    characters = sum(len(u.text) for call in body.calls for u in call.utterances)
    if characters > MAX_CHARACTERS:
        raise CallsTooLargeError(f"the calls have {characters} characters; the limit is {MAX_CHARACTERS}")
    names = _unique([item_name(c.id, f"call-{i}") for i, c in enumerate(body.calls, start=1)], "calls")
    calls = []
    for i, (name, data) in enumerate(zip(names, body.calls, strict=True)):
        utterances = [Utterance(**u.model_dump()) for u in data.utterances]
        try:
            calls.append((name, Call(utterances, data.duration, dict(data.metadata), data.id or name)))
        except InvalidOptionError as exc:
            raise InvalidOptionError(f"calls[{i}]: {exc.message}") from None
    return body, calls, characters


# --------------------------------------------------------------------------------------------------------
# Recordings
# --------------------------------------------------------------------------------------------------------

UPLOAD_SCHEMA = {
    "type": "object",
    "required": ["files"],
    "properties": {
        "files": {
            "type": "array",
            "items": {"type": "string", "format": "binary"},
            "description": f"Call recordings (audio or video; stereo: one party per channel), or call JSON files; at "
            f"most {MAX_FILES}.",
        },
        "metadata": {
            "type": "string",
            "format": "binary",
            "description": "CSV with a 'file' column (the recordings' file names) and any others: agent, queue, "
            "date... (the scorecards group by agent and queue, the trend by date).",
        },
        "rules": {"type": "string", "default": "bank_default", "description": "The ruleset's name."},
        "version": {"type": "integer", "minimum": 1, "description": "Default: the ruleset's active version."},
        "channels": {
            "type": "string",
            "enum": ["auto", "stereo", "mono"],
            "default": "auto",
            "description": "stereo: one party per channel; mono: diarized; auto: stereo when the channels differ.",
        },
        "agent_channel": {
            "type": "string",
            "enum": ["auto", "left", "right"],
            "default": "auto",
            "description": "Stereo: the agent's side; auto: the side that greets and offers service.",
        },
        "agent": {"type": "string", "description": "Mono: the enrolled voice (/v1/speakers) of the agent."},
        "hotwords": {"type": "string", "description": "Comma-separated names/terms to favour."},
        "hotword_lists": {"type": "string", "description": "Comma-separated stored hotword lists (/v1/hotwords)."},
        "language": {"type": "string", "enum": ["zh", "en"], "default": "zh"},
        "callback_url": {"type": "string", "description": "http(s) URL that receives the finished job, signed."},
    },
}


def _form_text(form: FormData, name: str, default: str = "") -> str:
    """A text field, stripped; ``default`` when it is absent or blank."""
    value = form.get(name, default)
    if not isinstance(value, str):
        raise InvalidOptionError(f"'{name}' must be a text field, not a file")
    return value.strip() or default


def _form_version(form: FormData) -> int | None:
    text = _form_text(form, "version")
    if not text:
        return None
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= INT32_MAX:
        raise InvalidOptionError(f"version must be a whole number ≥ 1, not '{text[:20]}'")
    return int(text)


def _recordings(form: FormData) -> list[UploadFile]:
    uploads = form.getlist("files")
    if not uploads:
        raise InvalidOptionError("send the recordings in the multipart field 'files' (one or more)")
    if not all(isinstance(u, UploadFile) for u in uploads):
        raise InvalidOptionError("'files' must be files, not text fields")
    if len(uploads) > MAX_FILES:
        raise InvalidOptionError(f"at most {MAX_FILES} files per inspection, not {len(uploads)}")
    return uploads  # type: ignore[return-value]


async def _metadata_rows(form: FormData) -> dict[str, dict[str, str]]:
    """The rows of the metadata CSV, read under its own file name (so that its errors name it)."""
    upload = form.get("metadata")
    if upload is None:
        return {}
    if not isinstance(upload, UploadFile):
        raise InvalidOptionError("'metadata' must be a CSV file, not a text field")
    data = await upload.read(MAX_METADATA_BYTES + 1)
    if len(data) > MAX_METADATA_BYTES:
        raise UploadTooLargeError(f"the metadata file is larger than {MAX_METADATA_BYTES >> 20} MB")
    with tempfile.TemporaryDirectory(prefix="shenggu-qa-") as folder:
        path = Path(folder) / item_name(upload.filename or "", "metadata.csv")
        path.write_bytes(data)
        return await run_in_threadpool(read_metadata, path)


def _job_request(
    form: FormData, inspection_id: str, rules: StoredRules, session: Session, principal: Principal
) -> QaRequest:
    """The job's options from the form's fields, with the tenant's stored hotwords and enrolled agent voice."""
    tenant_id = principal.tenant_id
    words = hotword_lists.clean_words(_form_text(form, "hotwords"))
    words = hotword_lists.words_for(session, tenant_id, split_commas(_form_text(form, "hotword_lists")), words)
    agent = _form_text(form, "agent")
    voice = None
    if agent:
        enrolled = speaker_store.voices_named(session, tenant_id, (agent,))
        if not enrolled:
            raise InvalidOptionError(f"no enrolled speaker named '{agent[:64]}' (see /v1/speakers)")
        voice = tuple(next(iter(enrolled.values())))
    return QaRequest(
        inspection_id,
        rules.ruleset.to_data(),
        _form_text(form, "language", "zh"),
        tuple(words),
        _form_text(form, "channels", "auto"),
        _form_text(form, "agent_channel", "auto"),
        voice,
        form_flag(form.get("summarize"), "summarize", default=False),
        str(tenant_id),
    )


def _seconds(path: Path) -> float:
    """A stored item's declared duration; 0 for one that is not audio (a call JSON file, or a damaged file,
    which its job reports among the results)."""
    try:
        return probe_duration(path) or 0.0
    except ShengguError:
        return 0.0


async def queue_recordings(
    request: Request, settings: Settings, database: Database, limiter: RateLimiter, principal: Principal
) -> tuple[str, Job]:
    """Check a recordings request (fields, ruleset, rate, each recording's length, the quota), store its files
    durably with a manifest of them, and queue the job and its inspection in one transaction (so no worker takes
    the job before the inspection is there). Returns the inspection's id and the job; a refused request leaves
    no file behind."""
    form = await request.form(max_files=MAX_FILES + 1, max_fields=20)
    stored: list[StoredUpload] = []
    try:
        uploads = _recordings(form)
        names = _unique([item_name(u.filename or "", f"file-{i}") for i, u in enumerate(uploads, 1)], "files")
        metadata = await _metadata_rows(form)
        callback_url = _form_text(form, "callback_url")
        callback = check_url(callback_url, DestinationPolicy.from_settings(settings)) if callback_url else None
        inspection_id = qa_store.new_inspection_id()
        ruleset_name, version = _form_text(form, "rules", "bank_default"), _form_version(form)
        with database.session() as session:
            rules = qa_store.get_rules(session, principal.tenant_id, ruleset_name, version)
            options = {"qa": _job_request(form, inspection_id, rules, session, principal).to_json()}
        limiter.check(principal)
        folder, limit = settings.data_dir / "uploads", settings.max_upload_mb << 20
        for upload in uploads:
            stored.append(await run_in_threadpool(persist_upload, upload, folder, limit))
        seconds = [await run_in_threadpool(_seconds, s.path) for s in stored]
        items = [QaItem(name, str(s.path), s.sha256) for name, s in zip(names, stored, strict=True)]
        stored.append(manifest := await run_in_threadpool(persist_upload, qa_manifest(items, metadata), folder, limit))
        label = names[0] if len(names) == 1 else f"{len(names)} files"
        with database.session() as session:
            check_audio(session, principal, max(seconds))  # each recording within the tenant's length limit
            check_audio(session, replace(principal, max_audio_seconds=None), sum(seconds))  # all within the quota
            job = jobs.create(
                session, principal.tenant_id, QA_TASK, options, str(manifest.path), manifest.sha256, label, callback,
                sum(seconds),
            )  # fmt: skip
            qa_store.create_inspection(
                session, principal.tenant_id, "files", rules, len(items), inspection_id=inspection_id, job_id=job.id
            )
    except BaseException:
        for upload in stored:
            upload.path.unlink(missing_ok=True)
        raise
    finally:
        await form.close()
    return inspection_id, job
