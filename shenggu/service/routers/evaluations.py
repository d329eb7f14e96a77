"""Evaluation on the tenant's own recordings (the console's Evaluate page): ``/v1/evaluations``.

``POST /v1/evaluations/testsets`` stores a test set: a ZIP (``manifest.tsv`` at its root or in one top folder,
audio paths relative to it) or a ``manifest`` with its audio ``files``, in the format of the shared evaluation
set (see ``shenggu.service.evaluation_sets``). It is checked whole first: a bad set is a 422 that lists every
problem (line, clip id, column), and nothing of it is kept.

``POST /v1/evaluations/runs`` benchmarks a test set (202): an ``evaluation`` job, listed in ``/v1/jobs`` with its
progress, cancelled by ``DELETE /v1/jobs/{id}`` and taken up again after a restart like any job, runs ``shenggu
bench asr`` on the set with the engine and the stored hotword list asked for. Its audio seconds count against the
tenant's daily quota and are metered as ``evaluation``. A finished run gives each clip's reference, hypothesis,
error rate and alignment, its benchmark's HTML report (``.../report``, served with a Content-Security-Policy that
lets it show its embedded plots and nothing else), and comparisons with other runs of the set (``/compare``: per
clip and summary differences, with a paired bootstrap interval).

Deleting a test set deletes its runs and files; a run still queued or running is cancelled (and its benchmark
process stopped), as is one deleted on its own.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
from dataclasses import asdict, replace
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Query, Request, Response, UploadFile
from fastapi.responses import FileResponse, JSONResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from shenggu.asr.registry import ENGINES
from shenggu.config import Settings
from shenggu.errors import InvalidOptionError, ShengguError
from shenggu.reports.page import REPORT_NAME
from shenggu.reports.results import RESULTS_NAME, flat_summary
from shenggu.reports.stats import bootstrap_mean_interval
from shenggu.service.deps import DatabaseDep, DbSessionDep, PrincipalDep, RateLimiterDep, SettingsDep
from shenggu.service.errors import ErrorBody, error_responses
from shenggu.service.evaluation_sets import (
    MANIFEST_NAME,
    MAX_CLIP_SECONDS,
    ZIP_EXPANSION,
    StoredSet,
    TestSetError,
    remove_folder,
    store_files,
    store_zip,
    stored_clips,
)
from shenggu.service.evaluation_tasks import BENCHMARKS, EVALUATION_TASK, SKIPPED_TASKS, EvaluationRequest
from shenggu.service.limits import check_audio
from shenggu.service.observability import count_error
from shenggu.service.schemas.evaluations import (
    COMPARISON,
    RUN,
    TESTSET,
    Comparison,
    RunBody,
    Runs,
    RunView,
    TaskName,
    TestSet,
    TestSetProblems,
    TestSets,
)
from shenggu.service.storage import evaluations as store
from shenggu.service.storage import hotwords as hotword_lists
from shenggu.service.storage import jobs
from shenggu.service.storage.models import Job, StoredEvaluationRun, StoredTestSet
from shenggu.service.storage.tenants import NotFoundError, Principal
from shenggu.service.uploads import sha256_of

router = APIRouter(prefix="/v1/evaluations", tags=["evaluations"], responses=error_responses(400, 401, 404, 422, 429))

# The benchmark's report is one page with inline CSS and plots as data: images; it may load and run nothing else.
REPORT_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"
_SAME = 1e-9  # per-clip error rates closer than this are the same


class RunNotReadyError(ShengguError):
    """The run has not succeeded (it is queued, running, failed or cancelled): it has no results to read."""

    code = "run_not_ready"
    http_status = 409


class NotComparableError(ShengguError):
    """Two runs that cannot be compared: of different test sets, or one without the task asked for."""

    code = "not_comparable"
    http_status = 422


def _utc(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).isoformat()  # SQLite gives UTC back naive


# --------------------------------------------------------------------------------------------------------
# Test sets
# --------------------------------------------------------------------------------------------------------


def _testset_view(row: StoredTestSet) -> dict:
    tasks = sorted(row.items)
    return {
        "id": row.id,
        "object": TESTSET,
        "name": row.name,
        "created_at": _utc(row.created_at),
        "clip_count": row.clip_count,
        "items": row.items,
        "tasks": tasks,
        "languages": sorted({language for languages in row.items.values() for language in languages}),
        "benchmarks": [task for task in BENCHMARKS if task in row.items],
        "audio_seconds": row.audio_seconds,
    }


_PROBLEMS = {
    422: {
        "model": TestSetProblems | ErrorBody,
        "description": "The test set has problems (each is listed), or the request is malformed",
    }
}


@router.post("/testsets", status_code=201, response_model=TestSet, responses={**_PROBLEMS, **error_responses(413)})
async def create_testset(
    request: Request,
    settings: SettingsDep,
    database: DatabaseDep,
    limiter: RateLimiterDep,
    principal: PrincipalDep,
    name: Annotated[str, Form(min_length=1, max_length=200, description="The test set's name.")],
    file: Annotated[
        UploadFile | None,
        File(description="A ZIP: manifest.tsv at its root or in one top folder, the audio paths relative to it."),
    ] = None,
    manifest: Annotated[
        UploadFile | None, File(description="Or the manifest (TSV), with the audio as 'files'.")
    ] = None,
    files: Annotated[
        list[UploadFile] | None, File(description="With 'manifest': the audio, matched by path or file name.")
    ] = None,
) -> dict | JSONResponse:
    """Store a test set: a ZIP (``file``), or a ``manifest`` and its audio ``files``. Manifest columns (tab-separated,
    UTF-8, header row): ``id``, ``language`` (zh, en), ``task`` (asr, pronunciation, diarization), ``path``,
    ``reference_text``; optional ``duration_s``, ``ref_quality`` (A-D), ``notes``. Every clip must decode as audio.
    A set with problems (missing or non-audio files, missing columns, duplicate ids, unknown tasks or languages,
    empty transcripts, unsafe ZIP paths, a ZIP too large once expanded) is a 422 listing each one, and nothing is
    stored."""
    if not name.strip():
        raise InvalidOptionError("name the test set")
    if (file is None) == (manifest is None):
        raise InvalidOptionError("send the test set as a ZIP ('file') or as a 'manifest' with its 'files', not both")
    if file is not None and files:
        raise InvalidOptionError("'files' go with a 'manifest'; in a ZIP the audio is inside it")
    limiter.check(principal)
    testset_id = store.new_id()
    tenant_folder = store.tenant_folder(settings.data_dir, principal.tenant_id)
    staging = tenant_folder / f".incoming-{testset_id}"
    folder = tenant_folder / testset_id
    max_clip = min(MAX_CLIP_SECONDS, principal.max_audio_seconds or math.inf)

    def build() -> StoredSet:
        staging.mkdir(parents=True)
        if file is not None:
            return store_zip(file.file, staging, (settings.max_upload_mb << 20) * ZIP_EXPANSION, max_clip)
        return store_files(manifest, files or [], staging, max_clip)  # type: ignore[arg-type]

    try:
        stored = await run_in_threadpool(build)
        os.rename(staging, folder)
        with database.session() as session:
            directory = folder.relative_to(settings.data_dir).as_posix()
            row = store.create_testset(
                session, principal.tenant_id, testset_id, name.strip(), stored.items, stored.audio_seconds, directory
            )
            view = _testset_view(row)
    except TestSetError as exc:
        remove_folder(staging)
        count_error(request, exc.code)
        body = {
            "error": {"code": exc.code, "message": exc.message, "type": exc.code},
            "problems": [asdict(p) for p in exc.problems],
            "problems_total": exc.total,
        }
        return JSONResponse(body, status_code=exc.http_status)
    except BaseException:
        remove_folder(staging)
        remove_folder(folder)
        raise
    return {**view, "clips": await run_in_threadpool(stored_clips, folder)}


@router.get("/testsets", response_model=TestSets)
def list_testsets(
    session: DbSessionDep,
    principal: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> dict:
    """The caller's test sets, newest first (without their clips: read one for them)."""
    rows, total = store.testsets_page(session, principal.tenant_id, limit, offset)
    data = [_testset_view(row) for row in rows]
    return {"object": "list", "data": data, "total": total, "limit": limit, "offset": offset}


@router.get("/testsets/{testset_id}", response_model=TestSet)
def get_testset(testset_id: str, session: DbSessionDep, settings: SettingsDep, principal: PrincipalDep) -> dict:
    """A test set with its clips, in manifest order."""
    row = store.get_testset(session, principal.tenant_id, testset_id)
    return {**_testset_view(row), "clips": stored_clips(store.testset_folder(settings.data_dir, row))}


@router.delete("/testsets/{testset_id}", status_code=204)
def delete_testset(testset_id: str, session: DbSessionDep, settings: SettingsDep, principal: PrincipalDep) -> Response:
    """Delete a test set, its runs and all their files; runs still queued or running are cancelled first."""
    row = store.delete_testset(session, principal.tenant_id, testset_id)
    session.commit()  # the runs' jobs are cancelled before their files go
    remove_folder(store.testset_folder(settings.data_dir, row))
    return Response(status_code=204)


# --------------------------------------------------------------------------------------------------------
# Runs
# --------------------------------------------------------------------------------------------------------


def _run_view(run: StoredEvaluationRun, job: Job | None) -> dict:
    status = store.status_of(run, job)
    options = run.options
    progress = 1.0 if status == "succeeded" else job.progress if job is not None else 0.0
    return {
        "id": run.id,
        "object": RUN,
        "testset_id": run.testset_id,
        "label": run.label,
        "status": status,
        "progress": round(progress, 3),
        "job_id": run.job_id,
        "created_at": _utc(run.created_at),
        "updated_at": _utc(run.updated_at),
        "tasks": options["tasks"],
        "skipped": options["skipped"],
        "engine": options["engine"],
        "hotword_list": options["hotword_list"],
        "hotwords": options["hotwords"],
        "limit": options["limit"],
        "summary": run.summary if status == "succeeded" else None,
        "error": job.error if job is not None and status == "failed" else None,
    }


def _tasks(row: StoredTestSet, asked: list[str] | None) -> tuple[tuple[str, ...], list[dict]]:
    """The tasks a run benchmarks, and those it skips with the reason."""
    wanted = list(dict.fromkeys(asked or sorted(row.items)))
    absent = [task for task in wanted if task not in row.items]
    if absent:
        raise InvalidOptionError(f"the test set has no {absent[0]} clips (it has: {', '.join(sorted(row.items))})")
    skipped = [{"task": task, "reason": SKIPPED_TASKS[task]} for task in wanted if task not in BENCHMARKS]
    tasks = tuple(task for task in BENCHMARKS if task in wanted)
    if not tasks:
        reasons = "; ".join(f"{s['task']}: {s['reason']}" for s in skipped)
        raise InvalidOptionError(f"nothing to benchmark in this test set ({reasons})")
    return tasks, skipped


def _engine(name: str | None, settings: Settings) -> str | None:
    """The engine a run asks for (None: the server's), checked before the job is queued."""
    if not name:
        return None
    if name not in ENGINES:
        raise InvalidOptionError(f"unknown engine '{name[:64]}' (choose from: {', '.join(ENGINES)})")
    if ENGINES[name][0].needs_model_dir and settings.asr_model_dir is None:
        raise InvalidOptionError(f"engine '{name}' needs a model directory, and this server has none configured")
    return name


def _queue_run(
    session: Session, settings: Settings, principal: Principal, body: RunBody
) -> tuple[StoredEvaluationRun, Job]:
    """Check a run (test set, tasks, engine, hotword list, audio limits and quota) and queue its job and the run in
    one transaction, so no worker takes the job before the run is there."""
    testset = store.get_testset(session, principal.tenant_id, body.testset_id)
    tasks, skipped = _tasks(testset, body.tasks)
    engine = _engine(body.engine, settings)
    lists = [body.hotword_list] if body.hotword_list else []
    words = hotword_lists.words_for(session, principal.tenant_id, lists, [])
    folder = store.testset_folder(settings.data_dir, testset)
    clips = stored_clips(folder)
    seconds = [
        float(clip["duration_s"]) for task in tasks for clip in [c for c in clips if c["task"] == task][: body.limit]
    ]
    check_audio(session, principal, max(seconds, default=0.0))  # each clip within the tenant's length limit
    check_audio(session, replace(principal, max_audio_seconds=None), sum(seconds))  # all within the quota
    run_id = store.new_id()
    run_dir = store.run_folder(settings.data_dir, testset, run_id).relative_to(settings.data_dir).as_posix()
    request = EvaluationRequest(run_id, run_dir, tasks, engine, tuple(words), body.limit)
    manifest = (folder / MANIFEST_NAME).resolve()
    job = jobs.create(
        session, principal.tenant_id, EVALUATION_TASK, {"evaluation": request.to_json()}, str(manifest),
        sha256_of(manifest), testset.name, None, sum(seconds),
    )  # fmt: skip
    options = {
        "tasks": list(tasks),
        "skipped": skipped,
        "engine": engine,
        "hotword_list": body.hotword_list or None,
        "hotwords": len(words),
        "limit": body.limit,
    }
    return store.create_run(session, testset, run_id, body.label.strip(), options, job.id), job


@router.post("/runs", status_code=202, response_model=RunView)
async def create_run(
    body: RunBody, settings: SettingsDep, database: DatabaseDep, limiter: RateLimiterDep, principal: PrincipalDep
) -> dict:
    """Benchmark a test set (202): an ``evaluation`` job runs ``shenggu bench asr`` on its clips (``limit``: the
    first N of each task) with ``engine`` and the stored ``hotword_list`` (the tenant's ``default`` list applies
    too, as in any recognition). Poll the run (or its job in ``/v1/jobs``) for its progress; tasks that are not
    benchmarked are listed in ``skipped`` with the reason."""
    limiter.check(principal)

    def queue() -> dict:
        with database.session() as session:
            run, job = _queue_run(session, settings, principal, body)
            return {**_run_view(run, job), "clips": [], "failures": []}

    return await run_in_threadpool(queue)


@router.get("/runs", response_model=Runs)
def list_runs(
    session: DbSessionDep,
    principal: PrincipalDep,
    testset_id: Annotated[str | None, Query(max_length=64, description="Only the runs of this test set.")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> dict:
    """The caller's runs (of one test set, if given), newest first, without their clips."""
    if testset_id is not None:
        store.get_testset(session, principal.tenant_id, testset_id)  # another tenant's set is not found
    rows, total = store.runs_page(session, principal.tenant_id, testset_id, limit, offset)
    data = [_run_view(row, store.job_of(session, row)) for row in rows]
    return {"object": "list", "data": data, "total": total, "limit": limit, "offset": offset}


def _results(settings: Settings, session: Session, run: StoredEvaluationRun, task: str) -> dict:
    """A task's ``results.json`` of a succeeded run."""
    path = store.run_folder(settings.data_dir, _testset_of(session, run), run.id) / task / RESULTS_NAME
    if not path.is_file():
        raise NotFoundError(f"the {task} results of run {run.id} are gone")
    return json.loads(path.read_text(encoding="utf-8"))


def _testset_of(session: Session, run: StoredEvaluationRun) -> StoredTestSet:
    return store.get_testset(session, run.tenant_id, run.testset_id)


def _clip(task: str, row: dict) -> dict:
    return {
        "task": task,
        "id": row["id"],
        "language": row["language"],
        "ref_quality": row["ref_quality"],
        "duration_s": row["duration_s"],
        "reference": row["reference"],
        "hypothesis": row["hypothesis"],
        "metric": row["metric"],
        "error_rate": row["rate"],
        "errors": row["errors"],
        "ref_len": row["ref_len"],
        "substitutions": row["substitutions"],
        "deletions": row["deletions"],
        "insertions": row["insertions"],
        "alignment": row.get("alignment", []),
    }


@router.get("/runs/{run_id}", response_model=RunView)
def get_run(run_id: str, session: DbSessionDep, settings: SettingsDep, principal: PrincipalDep) -> dict:
    """A run: its status and progress; once it succeeded, each task's summary and each clip's reference,
    hypothesis, error rate, error counts and alignment, and the clips the benchmark could not transcribe."""
    run = store.get_run(session, principal.tenant_id, run_id)
    view = _run_view(run, store.job_of(session, run))
    clips, failures = [], []
    if view["status"] == "succeeded":
        # The benchmark names a clip's file by its stored path: shown relative to the test set's folder.
        folder = f"{store.testset_folder(settings.data_dir, _testset_of(session, run)).resolve()}{os.sep}"
        for task in view["tasks"]:
            results = _results(settings, session, run, task)
            clips += [_clip(task, row) for row in results["utterances"]]
            failures += [
                {
                    "task": task,
                    "id": f["id"],
                    "code": f["error"]["code"],
                    "message": f["error"]["message"].replace(folder, ""),
                }
                for f in results.get("failures", [])
            ]
    return {**view, "clips": clips, "failures": failures}


_REPORT = {
    200: {
        "description": "The benchmark's report: summary, plots (embedded) and a table of every clip.",
        "content": {"text/html": {"schema": {"type": "string"}}},
    },
    409: {"model": ErrorBody, "description": "The run has not succeeded"},
}


def _ready(session: Session, run: StoredEvaluationRun) -> None:
    status = store.status_of(run, store.job_of(session, run))
    if status != "succeeded":
        raise RunNotReadyError(f"run {run.id} has no results (it is {status})")


@router.get("/runs/{run_id}/report", response_class=FileResponse, responses=_REPORT)
def get_run_report(
    run_id: str,
    session: DbSessionDep,
    settings: SettingsDep,
    principal: PrincipalDep,
    task: Annotated[TaskName, Query(description="The task whose report to read.")] = "asr",
) -> FileResponse:
    """A task's benchmark report (HTML: the summary, plots of each clip's error rate and of speed, and a table of
    every clip), served with a Content-Security-Policy that allows only its inline style and embedded images."""
    run = store.get_run(session, principal.tenant_id, run_id)
    _ready(session, run)
    if task not in run.options["tasks"]:
        raise NotFoundError(f"run {run.id} has no {task} report (it benchmarked {', '.join(run.options['tasks'])})")
    path = store.run_folder(settings.data_dir, _testset_of(session, run), run.id) / task / REPORT_NAME
    if not path.is_file():
        raise NotFoundError(f"the {task} report of run {run.id} is gone")
    headers = {"Content-Security-Policy": REPORT_CSP, "X-Content-Type-Options": "nosniff"}
    return FileResponse(path, media_type="text/html; charset=utf-8", headers=headers, content_disposition_type="inline")


@router.delete("/runs/{run_id}", status_code=204)
def delete_run(run_id: str, session: DbSessionDep, settings: SettingsDep, principal: PrincipalDep) -> Response:
    """Delete a run and its files; a run still queued or running is cancelled first."""
    run = store.get_run(session, principal.tenant_id, run_id)
    folder = store.run_folder(settings.data_dir, _testset_of(session, run), run.id)
    store.delete_run(session, principal.tenant_id, run_id)
    session.commit()  # its job is cancelled before its files go
    remove_folder(folder)
    return Response(status_code=204)


# --------------------------------------------------------------------------------------------------------
# Comparisons
# --------------------------------------------------------------------------------------------------------

_COMPARE = {409: {"model": ErrorBody, "description": "One of the runs has not succeeded"}}


@router.get("/compare", response_model=Comparison, responses=_COMPARE)
def compare_runs(
    session: DbSessionDep,
    settings: SettingsDep,
    principal: PrincipalDep,
    base: Annotated[str, Query(max_length=64, description="The run compared against (before).")],
    other: Annotated[str, Query(max_length=64, description="The run compared (after).")],
    task: Annotated[Literal["asr"], Query(description="The task to compare.")] = "asr",
) -> dict:
    """Compare two runs of one test set (e.g. before and after a hotword list or another engine): each summary
    number's difference, each clip's error rate in both and ``difference = other - base`` (negative: ``other``
    made fewer errors), how many clips got better, worse or stayed the same, and the mean difference with its 95 %
    paired bootstrap interval over clips. Runs of different test sets cannot be compared (422)."""
    runs = [store.get_run(session, principal.tenant_id, run_id) for run_id in (base, other)]
    if runs[0].testset_id != runs[1].testset_id:
        raise NotComparableError(f"runs {runs[0].id} and {runs[1].id} are of different test sets")
    for run in runs:
        _ready(session, run)
        if task not in run.options["tasks"]:
            raise NotComparableError(f"run {run.id} did not benchmark {task}")
    views = [_run_view(run, store.job_of(session, run)) for run in runs]
    before, after = (_results(settings, session, run, task) for run in runs)
    after_rows = {row["id"]: row for row in after["utterances"]}
    clips = [_clip_difference(row, after_rows[row["id"]]) for row in before["utterances"] if row["id"] in after_rows]
    differences = [clip["difference"] for clip in clips]
    low_high = list(bootstrap_mean_interval(differences)) if differences else None
    return {
        "object": COMPARISON,
        "task": task,
        "testset_id": runs[0].testset_id,
        "base": views[0],
        "other": views[1],
        "summary": _summary_deltas(before["summary"], after["summary"]),
        "clips": clips,
        "compared": len(clips),
        "better": sum(d < -_SAME for d in differences),
        "worse": sum(d > _SAME for d in differences),
        "same": sum(abs(d) <= _SAME for d in differences),
        "mean_difference": sum(differences) / len(differences) if differences else None,
        "ci95": low_high,
    }


def _clip_difference(base: dict, other: dict) -> dict:
    return {
        "id": base["id"],
        "language": base["language"],
        "metric": base["metric"],
        "reference": base["reference"],
        "base_hypothesis": base["hypothesis"],
        "other_hypothesis": other["hypothesis"],
        "base_rate": base["rate"],
        "other_rate": other["rate"],
        "difference": other["rate"] - base["rate"],
    }


def _summary_deltas(base: dict, other: dict) -> list[dict]:
    """Each number in both summaries (dotted keys), and its change."""
    before, after = flat_summary(base), flat_summary(other)
    deltas = []
    for key, value in before.items():
        changed = after.get(key)
        if _is_number(value) and _is_number(changed):
            deltas.append({"key": key, "base": value, "other": changed, "delta": changed - value})
    return deltas


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
