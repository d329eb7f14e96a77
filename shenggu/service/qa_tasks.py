"""The work behind quality inspection (``/v1/qa/inspections``): calls sent as transcripts judged at once, and the
``qa_inspection`` job on recordings, whose upload is a manifest of the items (each stored and checksummed on its
own) and whose report files go to the job's results folder. A recordings inspection serves each stored recording
(:func:`stored_recording`), and its results and reports link each finding to its moment there (:func:`audio_url`)."""

from __future__ import annotations

import io
import json
import mimetypes
import os
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from urllib.parse import quote

import numpy as np
from fastapi import UploadFile

from shenggu.errors import InvalidOptionError
from shenggu.reports.results import jsonable
from shenggu.service.engines import Engines
from shenggu.service.storage.models import Job
from shenggu.service.storage.tenants import NotFoundError
from shenggu.service.uploads import sha256_of
from shenggu.solutions.qa.audio import CallAudioOptions, call_from_audio
from shenggu.solutions.qa.batch import CALL_SUFFIX, BatchResult, Failure, Summarizer, inspect_batch, summarize
from shenggu.solutions.qa.engine import default_sentiment, inspect
from shenggu.solutions.qa.links import AudioLink, moment_link
from shenggu.solutions.qa.record import Call
from shenggu.solutions.qa.report import batch_document, write_batch_report
from shenggu.solutions.qa.rules import Ruleset, parse_ruleset
from shenggu.solutions.qa.scorecards import InspectedCall
from shenggu.solutions.qa.summary import summarize_call

QA_TASK = "qa_inspection"  # the job's task, and the capability inspections are metered as
QA_LANGUAGES = ("zh", "en")
INSPECTIONS_PATH = "/v1/qa/inspections"  # the routes' prefix, for the audio links


@dataclass(frozen=True)
class QaItem:
    """One uploaded item of an inspection job: its name in the batch (the client's file name), where it is
    stored, and its SHA-256 (checked before the job reads it)."""

    name: str
    path: str
    sha256: str


@dataclass(frozen=True)
class QaRequest:
    """What a ``qa_inspection`` job does: the inspection it fills, the ruleset that judges (its data, so that the
    version chosen at submission judges even if another is uploaded meanwhile), and how a recording becomes a call
    (:class:`~shenggu.solutions.qa.audio.CallAudioOptions`; ``agent_voice``: an enrolled voice's embedding)."""

    inspection_id: str
    ruleset: dict
    language: str = "zh"
    hotwords: tuple[str, ...] = ()
    channels: str = "auto"
    agent_channel: str = "auto"
    agent_voice: tuple[float, ...] | None = None
    summarize: bool = False  # grounded summaries by the bundled language model
    tenant: str = ""  # whose turn in the language model's fair queue

    def __post_init__(self) -> None:
        if self.language not in QA_LANGUAGES:
            raise InvalidOptionError(f"language must be zh or en, not '{self.language[:20]}'")
        self.audio_options()  # validates channels and agent_channel

    def audio_options(self) -> CallAudioOptions:
        """How each recording is read."""
        voice = np.asarray(self.agent_voice, np.float32) if self.agent_voice else None
        return CallAudioOptions(self.language, list(self.hotwords), self.channels, self.agent_channel, voice)  # type: ignore[arg-type]

    def to_json(self) -> dict:
        """For the jobs table."""
        voice = list(self.agent_voice) if self.agent_voice else None
        return {**asdict(self), "hotwords": list(self.hotwords), "agent_voice": voice}

    @classmethod
    def from_json(cls, data: dict) -> QaRequest:
        """Back from the jobs table."""
        voice, words = data.get("agent_voice"), data.get("hotwords") or ()
        return cls(**{**data, "hotwords": tuple(words), "agent_voice": tuple(voice) if voice else None})


def qa_manifest(items: list[QaItem], metadata: dict[str, dict[str, str]]) -> UploadFile:
    """An inspection job's upload: its items and the metadata rows (``read_metadata``'s), as a JSON file to store
    like any upload, so that the worker verifies it by its checksum before it reads the items it lists."""
    data = {"items": [asdict(item) for item in items], "metadata": metadata}
    return UploadFile(io.BytesIO(json.dumps(data, ensure_ascii=False).encode()), filename="inspection.json")


def qa_outcome(batch: BatchResult) -> dict:
    """What an inspection stores and answers: each call (``item``: its name in the batch) with its result, the
    items that failed, and the batch aggregates (``batch.json`` without its per-call lines)."""
    aggregates = {k: v for k, v in batch_document(batch).items() if k not in ("calls", "failures")}
    return jsonable(
        {
            "results": [{"item": c.name, "call": asdict(c.call), "result": c.result.to_dict()} for c in batch.calls],
            "failures": [f._asdict() for f in batch.failures],
            "batch": aggregates,
        }
    )


RECOGNIZED = "recognized"  # the job's recognized calls, kept across a crash


def inspect_calls(calls: list[tuple[str, Call]], ruleset: Ruleset) -> BatchResult:
    """Judge calls sent as transcripts (each with its name), at once: the batch with its aggregates."""
    inspected = [InspectedCall(name, call, inspect(call, ruleset, sentiment=default_sentiment)) for name, call in calls]
    return summarize(ruleset, inspected)


def run_qa_inspection(
    path: Path, options: dict, results_dir: Path, engines: Engines, progress: Callable[[float], None]
) -> tuple[dict, float]:
    """Inspect the recordings (and call JSON files) an inspection job lists: each recognized into a call
    (``call_from_audio``: one party per channel, or diarized) and judged; an item that cannot be read or
    inspected is recorded as a failure and the others go on. The report files go to ``results_dir``; the audio
    seconds are those of the recordings inspected. Each recording's call is kept under ``results_dir/recognized``
    as soon as it is recognized, so a job taken over after a crash or restart recognizes only what is left."""
    request = QaRequest.from_json(options["qa"])
    manifest = json.loads(path.read_text(encoding="utf-8"))
    ruleset = parse_ruleset(request.ruleset, "ruleset")
    audio = request.audio_options()
    recognizer = engines.recognizer()
    encoder = engines.speaker_encoder() if audio.channels != "stereo" else None  # stereo needs no diarization
    total = max(1, len(manifest["items"]))
    done: list[int] = [0]  # items finished
    stopped: list[Exception] = []  # the error that stopped the job (cancelled, shutting down)

    def report(fraction: float) -> None:
        try:
            progress(fraction)
        except Exception as exc:  # cancelled or shutting down: re-raised after the item, which the batch would record
            stopped.append(exc)
            raise

    def make_call(item: Path) -> Call:
        def within(fraction: float) -> None:  # the lease is renewed while a long recording is recognized
            report((done[0] + fraction) / total)

        return call_from_audio(item, recognizer, audio, encoder=encoder, progress=within, settings=engines.settings)

    def after_item(name: str, ok: bool) -> None:
        done[0] += 1
        if stopped:
            raise stopped[0]
        report(done[0] / total)

    with tempfile.TemporaryDirectory(prefix="shenggu-qa-") as folder:
        workdir = Path(folder)
        items, damaged = _qa_items(manifest["items"], workdir)
        batch = inspect_batch(
            items, ruleset, make_call, root=workdir, metadata=manifest["metadata"], sentiment=default_sentiment,
            progress=after_item, recognized=results_dir / RECOGNIZED, summarizer=_summarizer(request, engines),
        )  # fmt: skip
    batch.failures = [_without_folder(f, workdir) for f in batch.failures] + damaged
    files = write_batch_report(batch, results_dir, audio_link=audio_links(request.inspection_id))
    seconds = sum(c.call.duration for c in batch.calls if is_recording(c.name))
    listed = sorted(p.relative_to(results_dir).as_posix() for p in files.values())
    return {"inspection_id": request.inspection_id, **qa_outcome(batch), "files": listed}, seconds


def _summarizer(request: QaRequest, engines: Engines) -> Summarizer | None:
    """The job's grounded summaries (the tenant's turns in the language model's queue), if it asked for them."""
    if not request.summarize:
        return None
    chat = partial(engines.chat_queue().chat, request.tenant)
    return lambda call: summarize_call(call, chat)


def _qa_items(items: list[dict], folder: Path) -> tuple[list[Path], list[Failure]]:
    """The job's stored items under their batch names in ``folder`` (links), and a failure for each item whose
    stored file is missing or damaged."""
    linked, damaged = [], []
    for data in items:
        item = QaItem(**data)
        stored = Path(item.path)
        if not stored.is_file() or sha256_of(stored) != item.sha256:
            damaged.append(Failure(item.name, "upload_damaged", "the stored upload is missing or damaged"))
            continue
        link = folder / item.name
        link.symlink_to(stored)
        linked.append(link)
    return linked, damaged


def _without_folder(failure: Failure, folder: Path) -> Failure:
    """A failure whose message does not name the job's working folder (the client sees its file names only)."""
    return failure._replace(message=failure.message.replace(f"{folder}{os.sep}", "").replace(str(folder), ""))


# --------------------------------------------------------------------------------------------------------
# The recordings of an inspection, and links to them
# --------------------------------------------------------------------------------------------------------


def is_recording(item: str) -> bool:
    """Whether an item of a recordings inspection is a recording (not a call JSON file, which has no audio)."""
    return not item.lower().endswith(CALL_SUFFIX)


def audio_url(inspection_id: str, item: str) -> str | None:
    """Where the API serves an item's recording: ``/v1/qa/inspections/{id}/audio/{item}`` (percent-encoded); None
    for a call JSON file."""
    if not is_recording(item):
        return None
    return f"{INSPECTIONS_PATH}/{quote(inspection_id, safe='')}/audio/{quote(item, safe='')}"


def audio_links(inspection_id: str) -> AudioLink:
    """Each finding's link to its moment (``#t=START[,END]``) of the item's recording on the API."""

    def link(item: str, start: float, end: float | None) -> str | None:
        url = audio_url(inspection_id, item)
        return moment_link(url, start, end) if url is not None else None

    return link


def with_audio_urls(results: list[dict], inspection_id: str) -> list[dict]:
    """A recordings inspection's stored results as served: each call with its recording's ``audio_url``, and each
    piece of evidence with the link to its moment (copies: the stored results stay as the job wrote them)."""
    served = []
    for entry in results:
        url = audio_url(inspection_id, entry["item"])
        rules = [
            {
                **rule,
                "evidence": [
                    {**e, "audio_url": moment_link(url, e["time"], e.get("end")) if url is not None else None}
                    for e in rule.get("evidence", [])
                ],
            }
            for rule in entry["result"].get("rules", [])
        ]
        served.append({**entry, "audio_url": url, "result": {**entry["result"], "rules": rules}})
    return served


def recording_type(item: str) -> str:
    """The media type to serve an item's recording as: the one its name suggests where that is audio or video,
    else ``application/octet-stream`` (an upload named ``.html`` is never served as a page)."""
    guessed = mimetypes.guess_type(item)[0] or ""
    return guessed if guessed.startswith(("audio/", "video/")) else "application/octet-stream"


def _listed_items(manifest: Path) -> list[QaItem]:
    """The items a job's manifest lists."""
    return [QaItem(**data) for data in json.loads(manifest.read_text(encoding="utf-8"))["items"]]


def stored_uploads(job: Job | None) -> list[Path]:
    """Every file a recordings job stored: its manifest and the items it lists (none for no job; the manifest
    alone when it cannot be read)."""
    if job is None:
        return []
    manifest = Path(job.upload_path)
    try:
        return [manifest, *(Path(item.path) for item in _listed_items(manifest))]
    except (OSError, ValueError, KeyError, TypeError):
        return [manifest]


def stored_recording(job: Job | None, item: str) -> Path:
    """The stored file of the recording ``item`` of an inspection's job, found through the job's manifest (checked
    by its checksum). Raises :class:`NotFoundError` for no job, an item the job does not list or that is a call JSON
    file, and a manifest or recording that is gone."""
    if job is None:
        raise NotFoundError("this inspection has no recordings (its calls were sent as transcripts)")
    if not is_recording(item):
        raise NotFoundError(f"'{item[:100]}' is a call JSON file, not a recording")
    manifest = Path(job.upload_path)
    if not manifest.is_file() or sha256_of(manifest) != job.upload_sha256:
        raise NotFoundError("the recordings of this inspection are gone")
    listed = {listed_item.name: listed_item for listed_item in _listed_items(manifest)}
    if item not in listed:
        raise NotFoundError(f"this inspection has no recording named '{item[:100]}'")
    path = Path(listed[item].path)
    if not path.is_file():
        raise NotFoundError(f"the recording '{item[:100]}' is gone")
    return path
