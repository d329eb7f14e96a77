"""The work behind quality inspection (``/v1/qa/inspections``): calls sent as transcripts judged at once, and the
``qa_inspection`` job on recordings, whose upload is a manifest of the items (each stored and checksummed on its
own) and whose report files go to the job's results folder."""

from __future__ import annotations

import io
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from fastapi import UploadFile

from shenggu.errors import InvalidOptionError
from shenggu.reports.results import jsonable
from shenggu.service.engines import Engines
from shenggu.service.uploads import sha256_of
from shenggu.solutions.qa.audio import CallAudioOptions, call_from_audio
from shenggu.solutions.qa.batch import CALL_SUFFIX, BatchResult, Failure, inspect_batch, summarize
from shenggu.solutions.qa.engine import default_sentiment, inspect
from shenggu.solutions.qa.record import Call
from shenggu.solutions.qa.report import batch_document, write_batch_report
from shenggu.solutions.qa.rules import Ruleset, parse_ruleset
from shenggu.solutions.qa.scorecards import InspectedCall

QA_TASK = "qa_inspection"  # the job's task, and the capability inspections are metered as
QA_LANGUAGES = ("zh", "en")


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
            progress=after_item, recognized=results_dir / RECOGNIZED,
        )  # fmt: skip
    batch.failures = [_without_folder(f, workdir) for f in batch.failures] + damaged
    files = write_batch_report(batch, results_dir)
    seconds = sum(c.call.duration for c in batch.calls if not c.name.lower().endswith(CALL_SUFFIX))
    listed = sorted(p.relative_to(results_dir).as_posix() for p in files.values())
    return {"inspection_id": request.inspection_id, **qa_outcome(batch), "files": listed}, seconds


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
