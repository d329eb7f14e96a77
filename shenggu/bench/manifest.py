"""Reading of evaluation manifests (the tab-separated ``manifest.tsv`` of ``shared/eval``).

Format: UTF-8, one header row, one clip a line, fields separated by tabs and never quoted (transcripts contain
quotes and apostrophes, so quote characters are ordinary text). Extra columns (source, licence...) are allowed
and ignored; the columns named in ``REQUIRED_COLUMNS`` must be present.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

from shenggu.errors import ShengguError

REQUIRED_COLUMNS = ("id", "language", "task", "path", "duration_s", "reference_text", "ref_quality", "notes")


class ManifestError(ShengguError):
    """A manifest is missing, unreadable or malformed (missing columns, bad numbers, duplicate ids...)."""

    code = "bad_manifest"
    http_status = 400


@dataclass(frozen=True)
class ManifestEntry:
    """One clip of a manifest; ``path`` is absolute (resolved relative to the manifest's folder)."""

    id: str
    language: str
    task: str
    path: Path
    duration_s: float
    reference_text: str
    ref_quality: str
    notes: str


def load_manifest(path: str | Path, task: str | None = "asr") -> list[ManifestEntry]:
    """Read a TSV manifest and return its entries in file order.

    ``task`` keeps only the rows of that task (``"asr"``, ``"diarization"``...); ``None`` keeps every row.
    The whole file is validated even when filtering, so a broken row is reported whatever the task.
    Raises ``ManifestError`` when the file is missing or unreadable, lacks a required column, has a row with
    the wrong number of fields, an empty id, a duplicate id, or a duration that is not a finite number ≥ 0.
    """
    manifest = Path(path)
    rows = _read_rows(manifest)
    base = manifest.resolve().parent
    entries: list[ManifestEntry] = []
    seen: set[str] = set()
    for line_no, row in rows:
        entry = _parse_row(row, base, manifest, line_no)
        if entry.id in seen:
            raise ManifestError(f"{manifest}: line {line_no}: duplicate id {entry.id!r}")
        seen.add(entry.id)
        entries.append(entry)
    return [e for e in entries if task is None or e.task == task]


def _read_rows(manifest: Path) -> list[tuple[int, dict[str, str]]]:
    """Return ``(line number, row)`` pairs after checking the header; rows are raw strings."""
    try:
        # utf-8-sig: tolerate a byte-order mark left by spreadsheet editors; newline="" lets csv handle CRLF.
        with manifest.open(encoding="utf-8-sig", newline="") as f:
            reader = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
            lines = [(reader.line_num, fields) for fields in reader if any(x.strip() for x in fields)]
    except FileNotFoundError:
        raise ManifestError(f"manifest not found: {manifest}") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ManifestError(f"cannot read manifest {manifest}: {exc}") from None
    if not lines:
        raise ManifestError(f"{manifest}: empty manifest (no header row)")
    _, header = lines[0]
    header = [h.strip() for h in header]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise ManifestError(f"{manifest}: missing column(s) {', '.join(missing)}")
    rows = []
    for line_no, fields in lines[1:]:
        if len(fields) != len(header):
            raise ManifestError(f"{manifest}: line {line_no}: {len(fields)} fields, the header has {len(header)}")
        rows.append((line_no, dict(zip(header, fields, strict=True))))
    return rows


def _parse_row(row: dict[str, str], base: Path, manifest: Path, line_no: int) -> ManifestEntry:
    """Turn one raw row into a ``ManifestEntry``, raising ``ManifestError`` that names the line."""
    clip_id = row["id"].strip()
    if not clip_id:
        raise ManifestError(f"{manifest}: line {line_no}: empty id")
    try:
        duration = float(row["duration_s"])
    except ValueError:
        duration = math.nan
    if not math.isfinite(duration) or duration < 0:
        raise ManifestError(f"{manifest}: line {line_no}: bad duration_s {row['duration_s']!r}")
    rel = row["path"].strip()
    if not rel:
        raise ManifestError(f"{manifest}: line {line_no}: empty path")
    return ManifestEntry(
        id=clip_id,
        language=row["language"].strip(),
        task=row["task"].strip(),
        path=(base / rel).resolve(),
        duration_s=duration,
        # Transcripts are kept verbatim (minus surrounding blanks): normalization is the scorer's job.
        reference_text=row["reference_text"].strip(),
        ref_quality=row["ref_quality"].strip(),
        notes=row["notes"].strip(),
    )
