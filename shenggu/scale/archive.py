"""An archive batch: which files, where each transcript goes, what is already done, and the run's record.

A batch is resumable by construction: each transcript is written atomically once its file is done, and a new
run skips every input whose transcript exists, so after a crash (or Ctrl-C) the same command finishes the rest.
Failed files get no transcript; they are listed in ``failures.csv`` and tried again by the next run.
"""

from __future__ import annotations

import csv
import io
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from shenggu.errors import InvalidOptionError
from shenggu.logs import get_logger
from shenggu.reports.results import write_text_atomically
from shenggu.scale.executors import Executor, FileTask
from shenggu.scale.work import BatchOptions, FileOutcome
from shenggu.text.spreadsheet import neutralized

log = get_logger("shenggu.scale")

# What a folder's audio and video files end with (anything PyAV decodes can also be named in a manifest).
MEDIA_SUFFIXES = frozenset(
    {".wav", ".mp3", ".flac", ".ogg", ".oga", ".opus", ".m4a", ".aac", ".wma", ".amr"}
    | {".webm", ".mp4", ".m4v", ".mkv", ".mov", ".avi", ".3gp"}
)
FAILURES_NAME = "failures.csv"  # this run's failed files: path, code, message
SUMMARY_NAME = "batch.json"  # this run's ArchiveSummary


@dataclass(frozen=True)
class ArchiveItem:
    """An input file and the transcript it becomes."""

    source: Path
    name: str  # relative to the input folder or manifest: how the file is reported
    output: Path


@dataclass(frozen=True)
class ArchiveSummary:
    """What a run did (also written to ``OUT/batch.json``)."""

    files: int
    done: int  # transcribed by this run
    skipped: int  # already transcribed by an earlier run
    failed: int
    audio_seconds: float
    wall_s: float
    backend: str

    @property
    def audio_hours_per_hour(self) -> float:
        """Audio transcribed per unit of wall time by this run."""
        return self.audio_seconds / self.wall_s if self.wall_s > 0 else 0.0

    def to_dict(self) -> dict:
        """The JSON record."""
        return {
            "files": self.files,
            "done": self.done,
            "skipped": self.skipped,
            "failed": self.failed,
            "audio_seconds": round(self.audio_seconds, 3),
            "wall_s": round(self.wall_s, 3),
            "audio_hours_per_hour": round(self.audio_hours_per_hour, 3),
            "backend": self.backend,
        }


def plan_archive(source: Path, out: Path, fmt: str) -> list[ArchiveItem]:
    """The files of a folder (its audio and video files, recursively) or of a manifest, each with its output
    ``OUT/<relative path>.<fmt>``. Raises ``InvalidOptionError`` for a missing input, an empty one, or two inputs
    that would be written to the same transcript."""
    if source.is_dir():
        files = sorted(p for p in source.rglob("*") if p.is_file() and p.suffix.lower() in MEDIA_SUFFIXES)
        named = [(p, p.relative_to(source)) for p in files]
        if out.resolve().is_relative_to(source.resolve()):
            raise InvalidOptionError("the output folder must not be inside the input folder")
    elif source.is_file():
        named = _manifest_files(source)
    else:
        raise InvalidOptionError(f"no such file or folder: '{source}'")
    if not named:
        raise InvalidOptionError(f"no audio or video files in '{source}'")
    items: list[ArchiveItem] = []
    claimed = {out / FAILURES_NAME: "(the failures list)", out / SUMMARY_NAME: "(the batch summary)"}
    for path, relative in named:
        output = out / relative.with_suffix(f".{fmt}")
        name = relative.as_posix()
        if output in claimed:
            raise InvalidOptionError(f"'{claimed[output]}' and '{name}' would both be written to '{output}'")
        claimed[output] = name
        items.append(ArchiveItem(path, name, output))
    return items


def _manifest_files(manifest: Path) -> list[tuple[Path, Path]]:
    """A manifest's files: one path per line (``#`` comments and blank lines skipped), or a TSV/CSV table with a
    ``path`` column (as ``shenggu bench`` manifests have). Relative paths are relative to the manifest's folder
    and keep their relative name; absolute ones are named by their file name."""
    try:
        text = manifest.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidOptionError(f"cannot read the manifest '{manifest}': {type(exc).__name__}") from None
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if not lines:
        return []
    delimiter = "\t" if "\t" in lines[0] else ","
    rows = list(csv.reader(io.StringIO("\n".join(lines)), delimiter=delimiter))
    header = [cell.strip().lower() for cell in rows[0]]
    if "path" in header:
        column = header.index("path")
        entries = [row[column].strip() if column < len(row) else "" for row in rows[1:]]
    else:
        entries = [line.strip() for line in lines]
    named = []
    for entry in filter(None, entries):
        listed = Path(entry)
        relative = Path(listed.name) if listed.is_absolute() else listed
        if ".." in relative.parts:
            raise InvalidOptionError(f"manifest path '{entry[:200]}' leaves the manifest's folder")
        named.append((listed if listed.is_absolute() else manifest.parent / listed, relative))
    return named


def run_archive(
    items: list[ArchiveItem],
    out: Path,
    executor: Executor,
    options: BatchOptions,
    progress: bool = True,
    on_outcome: Callable[[FileOutcome], None] | None = None,
) -> ArchiveSummary:
    """Transcribe every item without a transcript yet, writing each as it finishes (then telling ``on_outcome``);
    record this run's failures (``OUT/failures.csv``: path, code, message) and summary (``OUT/batch.json``)."""
    from tqdm import tqdm

    out.mkdir(parents=True, exist_ok=True)
    pending = [item for item in items if not item.output.is_file()]
    by_name = {item.name: item for item in pending}
    started = time.perf_counter()
    done, audio_seconds, failures = 0, 0.0, []
    tasks = (FileTask(item.source, item.name) for item in pending)
    with tqdm(total=len(pending), unit="file", file=sys.stderr, disable=not (progress and sys.stderr.isatty())) as bar:
        for outcome in executor.run(tasks, options):
            if outcome.ok:
                write_text_atomically(by_name[outcome.name].output, outcome.text or "")
                done += 1
                audio_seconds += outcome.audio_seconds
            else:
                failures.append((outcome.name, outcome.error_code, outcome.error_message))
                log.warning("archive file failed", file=outcome.name, code=outcome.error_code)
            if on_outcome:
                on_outcome(outcome)
            bar.update(1)
            bar.set_postfix(failed=len(failures), refresh=False)
    summary = ArchiveSummary(
        files=len(items),
        done=done,
        skipped=len(items) - len(pending),
        failed=len(failures),
        audio_seconds=audio_seconds,
        wall_s=time.perf_counter() - started,
        backend=executor.backend,
    )
    write_text_atomically(out / FAILURES_NAME, _csv([("path", "code", "message"), *failures]))
    write_text_atomically(out / SUMMARY_NAME, json.dumps(summary.to_dict(), indent=2) + "\n")
    return summary


def _csv(rows: list[tuple[str, str, str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows([neutralized(cell) for cell in row] for row in rows)
    return buffer.getvalue()
