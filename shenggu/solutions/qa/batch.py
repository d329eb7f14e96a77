"""Inspecting a batch of calls: recordings (through a ``make_call`` the caller supplies, e.g. recognition) and
call JSON files (transcripts from another system), joined with a metadata CSV (agent, queue, date, ...), judged one
after another by one ruleset. One bad item is recorded with its error and the batch goes on.

A call JSON is ``asdict(Call)`` (``{"utterances": [{"role", "start", "end", "text", ...}], "duration",
"metadata", "id"}``), or a per-call report file ``{"call": ..., "result": ...}``, so that a batch can be judged
again under a new ruleset version without recognizing it again."""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Callable, Collection, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from statistics import fmean
from typing import Any, NamedTuple

from shenggu.errors import InvalidOptionError, error_info
from shenggu.reports.results import write_text_atomically
from shenggu.solutions.qa.checks import SentimentFn
from shenggu.solutions.qa.engine import inspect
from shenggu.solutions.qa.matching import Embedder
from shenggu.solutions.qa.record import Call, CallResult
from shenggu.solutions.qa.rules import Ruleset
from shenggu.solutions.qa.scorecards import (
    DatePoint,
    InspectedCall,
    RuleStats,
    Scorecard,
    date_trend,
    rule_stats,
    scorecards,
    tag_counts,
    top_failed,
)
from shenggu.solutions.qa.summary import CallSummary

CALL_SUFFIX = ".json"
FILE_COLUMN = "file"
KNOWN_COLUMNS = ("file", "agent", "queue", "date")  # matched whatever their case in the CSV header
MakeCall = Callable[[Path], Call]  # a recording → its call (recognition, channels or diarization)
Summarizer = Callable[[Call], CallSummary]  # a call → its grounded summary
Progress = Callable[[str, bool], None]  # after each item: its name, whether it was inspected


class Failure(NamedTuple):
    """An item that could not be inspected: its name, the error's code and one-line message."""

    item: str
    code: str
    message: str


@dataclass
class BatchResult:
    """A batch's inspected calls (in item order), its failures, and its aggregates (see
    :mod:`shenggu.solutions.qa.scorecards`). ``unmatched_metadata`` lists the metadata rows' files that named no
    item (a typo in the CSV)."""

    ruleset: Ruleset
    calls: list[InspectedCall]
    failures: list[Failure] = field(default_factory=list)
    agents: list[Scorecard] = field(default_factory=list)
    queues: list[Scorecard] = field(default_factory=list)
    rules: list[RuleStats] = field(default_factory=list)
    trend: list[DatePoint] = field(default_factory=list)
    tags: dict[str, int] = field(default_factory=dict)
    unmatched_metadata: list[str] = field(default_factory=list)

    @property
    def items(self) -> int:
        """Items given: inspected and failed."""
        return len(self.calls) + len(self.failures)

    @property
    def mean_score(self) -> float | None:
        """The mean score of the inspected calls (None when none was)."""
        return fmean(c.result.score for c in self.calls) if self.calls else None

    @property
    def top_failed_rules(self) -> list[RuleStats]:
        """The rules failed at least once, most failures first."""
        return top_failed(self.rules)

    def summary(self) -> dict[str, Any]:
        """The batch in a few numbers: items, calls, failures, mean score, the ruleset, audio seconds."""
        mean = self.mean_score
        return {
            "ruleset": self.ruleset.name,
            "ruleset_version": self.ruleset.version,
            "items": self.items,
            "calls": len(self.calls),
            "failed": len(self.failures),
            "mean_score": None if mean is None else round(mean, 2),
            "calls_with_full_score": sum(c.result.score >= 100.0 for c in self.calls),
            "call_seconds": round(sum(c.call.duration for c in self.calls), 1),
            "unmatched_metadata": len(self.unmatched_metadata),
        }


def summarize(
    ruleset: Ruleset,
    calls: list[InspectedCall],
    failures: list[Failure] | None = None,
    unmatched_metadata: list[str] | None = None,
) -> BatchResult:
    """A :class:`BatchResult` with the aggregates of ``calls`` computed."""
    return BatchResult(
        ruleset=ruleset,
        calls=calls,
        failures=list(failures or []),
        agents=scorecards(calls, ruleset, lambda c: c.agent),
        queues=scorecards(calls, ruleset, lambda c: c.queue),
        rules=rule_stats(calls, ruleset),
        trend=date_trend(calls),
        tags=tag_counts(calls),
        unmatched_metadata=list(unmatched_metadata or []),
    )


# --------------------------------------------------------------------------------------------------------
# Inputs: items of a folder, call JSON files, the metadata CSV
# --------------------------------------------------------------------------------------------------------


def find_items(source: Path, media_suffixes: Collection[str], skip: Path | None = None) -> list[Path]:
    """The items of ``source``: itself when it is a file, else its call JSON files and files ending with one of
    ``media_suffixes`` (lower case, with the dot), recursively, sorted; files under ``skip`` (the output folder,
    when it lies inside ``source``) left out. Raises :class:`InvalidOptionError` for a missing source or a folder
    without items."""
    if source.is_file():
        return [source]
    if not source.is_dir():
        raise InvalidOptionError(f"no such file or folder: '{source}'")
    wanted = {s.lower() for s in media_suffixes} | {CALL_SUFFIX}
    skipped = skip.resolve() if skip is not None else None
    items = sorted(
        p
        for p in source.rglob("*")
        if p.is_file()
        and p.suffix.lower() in wanted
        and not (skipped is not None and p.resolve().is_relative_to(skipped))
    )
    if not items:
        raise InvalidOptionError(f"no recordings or call JSON files in '{source}'")
    return items


def item_name(path: Path, root: Path | None) -> str:
    """The item's name in the batch: its path relative to ``root`` (with /), else its file name."""
    if root is not None and path.is_relative_to(root):
        return path.relative_to(root).as_posix()
    return path.name


def read_call(path: Path) -> Call:
    """The call of a call JSON file (or of a per-call report file). Raises :class:`InvalidOptionError` saying
    what is wrong (unreadable, not JSON, not a call)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidOptionError(f"cannot read '{path.name}': {type(exc).__name__}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise InvalidOptionError(f"'{path.name}' is not valid JSON (line {exc.lineno}: {exc.msg})") from None
    if isinstance(data, dict) and "utterances" not in data and isinstance(data.get("call"), dict):
        data = data["call"]  # a per-call report file: judge its call again
    if not isinstance(data, dict) or not isinstance(data.get("utterances"), list):
        raise InvalidOptionError(f"'{path.name}' is not a call: expected an object with a list of utterances")
    try:
        return Call.from_dict(data)
    except InvalidOptionError as exc:
        raise InvalidOptionError(f"'{path.name}': {exc.message}") from None
    except (TypeError, ValueError, KeyError) as exc:
        raise InvalidOptionError(f"'{path.name}' is not a call: {exc}") from None


def _metadata_key(text: str) -> str:
    """A file named in the metadata as an item name: forward slashes, no leading ./ ('' for an empty cell)."""
    text = text.strip().replace("\\", "/")
    return PurePosixPath(text).as_posix() if text else ""


def read_metadata(csv_path: Path) -> dict[str, dict[str, str]]:
    """Metadata per item from a CSV (comma- or tab-separated, UTF-8 with or without BOM) with a ``file``
    column (the item's path relative to the batch folder, or its file name) and any others (agent, queue, date,
    ...): ``{file: {column: value}}``, empty cells left out. Raises :class:`InvalidOptionError` naming the file
    and the problem (no ``file`` column, a repeated file, a row longer than the header, bad CSV)."""
    where = csv_path.name
    try:
        text = csv_path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidOptionError(
            f"metadata '{where}' is not UTF-8 text (in Excel: save as 'CSV UTF-8 (逗号分隔)')"
        ) from None
    except OSError as exc:
        raise InvalidOptionError(f"cannot read metadata '{csv_path}': {type(exc).__name__}: {exc}") from None
    first = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first and "," not in first else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        rows = list(reader)
    except csv.Error as exc:
        raise InvalidOptionError(f"metadata '{where}' line {reader.line_num}: not valid CSV ({exc})") from None
    if not rows:
        raise InvalidOptionError(f"metadata '{where}' is empty: a header row with a 'file' column is needed")
    header = [h.strip() for h in rows[0]]
    header = [h.lower() if h.lower() in KNOWN_COLUMNS else h for h in header]
    if FILE_COLUMN not in header:
        shown = ", ".join(h for h in header if h)[:200] or "none"
        raise InvalidOptionError(f"metadata '{where}' has no 'file' column (its columns: {shown})")
    repeated = sorted({h for h in header if h and header.count(h) > 1})
    if repeated:
        raise InvalidOptionError(f"metadata '{where}': column(s) {', '.join(repeated)} given twice")
    out: dict[str, dict[str, str]] = {}
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > len(header):
            raise InvalidOptionError(f"metadata '{where}' line {number}: more cells than the header has columns")
        values = {h: cell.strip() for h, cell in zip(header, row, strict=False) if h and cell.strip()}
        name = _metadata_key(values.pop(FILE_COLUMN, ""))
        if not name:
            raise InvalidOptionError(f"metadata '{where}' line {number}: the 'file' cell is empty")
        if name in out:
            raise InvalidOptionError(f"metadata '{where}' line {number}: '{name[:100]}' is listed twice")
        out[name] = values
    return out


# --------------------------------------------------------------------------------------------------------
# The batch
# --------------------------------------------------------------------------------------------------------


def _no_recordings(path: Path) -> Call:
    raise InvalidOptionError(f"'{path.name}' is not a call JSON file, and no recognizer was given for recordings")


def _add_summary(result: CallResult, call: Call, summarizer: Summarizer) -> None:
    try:
        summary = summarizer(call)
    except Exception as exc:  # a model failure costs the summary, never the call's inspection
        result.summary_error = error_info(exc)[1]
        return
    result.summary, result.summary_dropped = summary.text, summary.dropped


def _recognized(path: Path, name: str, make_call: MakeCall, folder: Path | None) -> Call:
    """The recording's call: from ``folder`` when an earlier run saved it, else made (and saved there)."""
    if folder is None:
        return make_call(path)
    saved = folder / f"{name}.call.json"
    if saved.is_file():
        try:
            return read_call(saved)
        except InvalidOptionError:  # unreadable (written by hand, another version): recognize again
            pass
    call = make_call(path)
    saved.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomically(saved, json.dumps(asdict(call), ensure_ascii=False))
    return call


def inspect_batch(
    items: Sequence[Path],
    ruleset: Ruleset,
    make_call: MakeCall = _no_recordings,
    *,
    root: Path | None = None,
    metadata: dict[str, dict[str, str]] | None = None,
    embed: Embedder | None = None,
    sentiment: SentimentFn | None = None,
    progress: Progress | None = None,
    recognized: Path | None = None,
    summarizer: Summarizer | None = None,
) -> BatchResult:
    """Inspect each item in turn (one at a time: recognition already uses every core): a ``.json`` file is read
    as a call, anything else goes to ``make_call``. Items are named by their path relative to ``root`` (default:
    the folder holding them all); ``metadata`` (from :func:`read_metadata`) is joined by that name, or else by the
    file name, over the call's own metadata; a call without an id takes the item's name. Any error of an item is
    recorded as a :class:`Failure` and the batch goes on. ``embed`` and ``sentiment`` go to
    :func:`~shenggu.solutions.qa.engine.inspect`.

    ``recognized``: a folder where each recording's call is saved as soon as it is recognized
    (``<item name>.call.json``) and read back instead of recognizing it again, so a batch that was interrupted
    (a crash, a restart, Ctrl-C) resumes where it stopped, and a batch judged again under new rules costs no
    recognition.

    ``summarizer``: writes each inspected call's grounded summary (e.g. :func:`~shenggu.solutions.qa.summary.
    summarize_call` with a language model); when it fails the call keeps its verdicts and ``summary_error`` says
    why."""
    metadata = metadata or {}
    if root is None and len(items) > 1:  # names unique even for files of the same name in different folders
        root = Path(os.path.commonpath([p.parent for p in items]))
    used: set[str] = set()
    calls: list[InspectedCall] = []
    failures: list[Failure] = []
    for path in items:
        name = item_name(path, root)
        key = name if name in metadata else PurePosixPath(name).name
        if key in metadata:
            used.add(key)  # the row names an item, whether or not the item can be inspected
        ok = False
        try:
            call = (
                read_call(path)
                if path.suffix.lower() == CALL_SUFFIX
                else _recognized(path, name, make_call, recognized)
            )
            if key in metadata:
                call.metadata = {**call.metadata, **metadata[key]}
            call.id = call.id or name
            result = inspect(call, ruleset, embed=embed, sentiment=sentiment)
            if summarizer is not None:
                _add_summary(result, call, summarizer)
            calls.append(InspectedCall(name, call, result))
            ok = True
        except Exception as exc:  # any error of one item, a model's included, must not end the batch
            failures.append(Failure(name, *error_info(exc)))
        if progress is not None:
            progress(name, ok)
    unmatched = sorted(key for key in metadata if key not in used)
    return summarize(ruleset, calls, failures, unmatched)
