"""Evaluation test sets as uploaded (``POST /v1/evaluations/testsets``): a ZIP with ``manifest.tsv`` at its root or
in one top folder, or a manifest and its audio files. A set is checked whole before anything is kept: a bad one
gets every problem found (the first :data:`MAX_PROBLEMS`), each naming the manifest's line, the clip id and the
column, and nothing of it is stored.

The manifest has the format of the shared evaluation set: UTF-8, tab-separated, a header row, fields never quoted.
Columns ``id``, ``language`` (zh, en), ``task`` (asr, pronunciation, diarization), ``path`` (the audio, relative to
the manifest) and ``reference_text`` (required for asr and pronunciation rows) must be there; ``duration_s`` (any
value is replaced by the decoded length), ``ref_quality`` (A-D, default A) and ``notes`` may be; other columns are
ignored. Every clip must decode as audio (no longer than :data:`MAX_CLIP_SECONDS` or the tenant's limit).

A stored set is a folder: the clips as ``audio/00001.wav``... and the normalized ``manifest.tsv`` that the benchmark
reads (its columns :data:`STORED_COLUMNS`, ``source_path`` being the path the upload gave). A ZIP is never extracted
by its members' names: the clips the manifest names are copied out under those new names, so a member's path cannot
lead out of the folder; members with such paths are reported all the same, and a ZIP that would expand past its
limit is refused before anything is read from it.
"""

from __future__ import annotations

import csv
import io
import math
import os
import shutil
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from fastapi import UploadFile

from shenggu.audio import SAMPLE_RATE, AudioError, decode_audio
from shenggu.errors import ShengguError

MANIFEST_NAME = "manifest.tsv"
REQUIRED_COLUMNS = ("id", "language", "task", "path", "reference_text")
# The benchmark's manifest columns, and the path the upload gave each clip.
STORED_COLUMNS = ("id", "language", "task", "path", "duration_s", "reference_text", "ref_quality", "notes",
                  "source_path")  # fmt: skip
LANGUAGES = ("zh", "en")
TASKS = ("asr", "pronunciation", "diarization")
TRANSCRIBED_TASKS = ("asr", "pronunciation")  # rows that need their reference_text
QUALITIES = ("A", "B", "C", "D")
MAX_CLIPS = 1000  # rows of one manifest
MAX_ID_CHARS = 200
MAX_CLIP_SECONDS = 600.0  # a test set's clips are utterances; a recording longer than this belongs in a job
MAX_PROBLEMS = 100  # reported of a bad set (the message says how many were found)
MAX_ZIP_MEMBERS = 4 * MAX_CLIPS
ZIP_EXPANSION = 4  # a ZIP may expand to this many times the upload limit (audio hardly compresses)
AUDIO_FOLDER = "audio"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an uploaded test set: the manifest's line (the header is line 1), the clip id and the
    column where there is one, and what is wrong."""

    row: int | None
    id: str | None
    column: str | None
    problem: str


class TestSetError(ShengguError):
    """An uploaded test set has problems (listed in ``problems``, at most :data:`MAX_PROBLEMS` of ``total``)."""

    code = "bad_testset"
    http_status = 422

    def __init__(self, problems: list[Problem], total: int) -> None:
        first = problems[0]
        where = f"line {first.row}: " if first.row is not None else ""
        super().__init__(f"{total} problem{'s' * (total != 1)} in the test set, the first: {where}{first.problem}")
        self.problems, self.total = problems, total


@dataclass
class _Problems:
    """The problems found so far: the first :data:`MAX_PROBLEMS` kept, all counted."""

    found: list[Problem] = field(default_factory=list)
    total: int = 0

    def add(self, problem: str, row: int | None = None, clip_id: str | None = None, column: str | None = None) -> None:
        self.total += 1
        if len(self.found) < MAX_PROBLEMS:
            self.found.append(Problem(row, clip_id or None, column, problem))

    def check(self) -> None:
        """Raise :class:`TestSetError` if any problem was found."""
        if self.total:
            raise TestSetError(self.found, self.total)


@dataclass(frozen=True)
class StoredSet:
    """What a stored test set holds: clips by task and language, and their decoded seconds."""

    items: dict[str, dict[str, int]]
    audio_seconds: float


@dataclass(frozen=True)
class _Clip:
    line: int
    id: str
    language: str
    task: str
    path: PurePosixPath  # as the manifest gives it, normalized
    reference_text: str
    ref_quality: str
    notes: str


# A source of the clips' files: the file at a manifest path (open for reading), or why there is none.
Opener = Callable[[PurePosixPath], "BinaryIO | str"]


def safe_path(text: str) -> PurePosixPath | None:
    """A relative path inside its folder (backslashes read as slashes, ``.`` parts dropped); None for an empty,
    absolute or drive path, or one with ``..``."""
    path = PurePosixPath(text.strip().replace("\\", "/"))
    parts = path.parts
    if not parts or path.is_absolute() or ".." in parts or ":" in parts[0] or "\x00" in text:
        return None
    return path


# --------------------------------------------------------------------------------------------------------
# The two kinds of upload
# --------------------------------------------------------------------------------------------------------


def store_zip(upload: BinaryIO, folder: Path, max_expanded_bytes: int, max_clip_seconds: float) -> StoredSet:
    """Check the test set in a ZIP and store it in ``folder`` (new; the caller removes it if this raises)."""
    problems = _Problems()
    try:
        archive = zipfile.ZipFile(upload)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        problems.add("the file is not a ZIP archive", column="file")
        problems.check()
    with archive:
        members = _zip_members(archive, max_expanded_bytes, problems)
        manifests = [name for name in members if PurePosixPath(name).name == MANIFEST_NAME and name.count("/") <= 1]
        if not manifests:
            problems.add(f"the ZIP has no {MANIFEST_NAME} at its root or in one top folder", column="file")
        elif len(manifests) > 1:
            problems.add(f"the ZIP has {len(manifests)} manifests ({', '.join(sorted(manifests))}): keep one")
        if len(manifests) != 1:
            problems.check()
        (manifest,) = manifests
        prefix = manifest.removesuffix(MANIFEST_NAME)

        def open_member(path: PurePosixPath) -> BinaryIO | str:
            info = members.get(f"{prefix}{path}")
            return archive.open(info) if info is not None else f"the ZIP has no file '{prefix}{path}'"

        text = archive.read(members[manifest])
        return _store(text, open_member, folder, max_clip_seconds, problems)


def _zip_members(archive: zipfile.ZipFile, max_expanded_bytes: int, problems: _Problems) -> dict[str, zipfile.ZipInfo]:
    """The ZIP's files by their normalized paths (unsafe ones reported and left out); raises when there are too many,
    they would expand past ``max_expanded_bytes``, or one is encrypted."""
    infos = [i for i in archive.infolist() if not i.is_dir()]
    if len(infos) > MAX_ZIP_MEMBERS:
        problems.add(f"the ZIP has {len(infos)} files; the limit is {MAX_ZIP_MEMBERS}", column="file")
    expanded = sum(i.file_size for i in infos)
    if expanded > max_expanded_bytes:
        limit = max_expanded_bytes >> 20
        problems.add(f"the ZIP expands to {expanded >> 20} MB; the limit is {limit} MB", column="file")
    if any(i.flag_bits & 0x1 for i in infos):
        problems.add("the ZIP is encrypted: upload it without a password", column="file")
    problems.check()
    members = {}
    for info in infos:
        path = safe_path(info.filename)
        if path is None:
            problems.add(f"unsafe path in the ZIP: '{info.filename[:200]}' (absolute, or leading out of the archive)")
        elif not info.filename.startswith("__MACOSX/"):  # macOS resource forks, never clips
            members[str(path)] = info
    return members


def store_files(manifest: UploadFile, files: list[UploadFile], folder: Path, max_clip_seconds: float) -> StoredSet:
    """Check a manifest and its uploaded audio files (matched by the manifest's path, or its file name) and store
    the test set in ``folder`` (new; the caller removes it if this raises)."""
    by_name: dict[str, list[UploadFile]] = {}
    for upload in files:
        name = (upload.filename or "").replace("\\", "/")
        by_name.setdefault(name, []).append(upload)
        base = PurePosixPath(name).name
        if base != name:
            by_name.setdefault(base, []).append(upload)

    def open_upload(path: PurePosixPath) -> BinaryIO | str:
        found = by_name.get(str(path)) or by_name.get(path.name) or []
        if len(found) != 1:
            return f"{len(found)} uploaded files are named '{path.name}'" if found else f"no uploaded file '{path}'"
        found[0].file.seek(0)
        return found[0].file

    manifest.file.seek(0)
    return _store(manifest.file.read(), open_upload, folder, max_clip_seconds, _Problems())


# --------------------------------------------------------------------------------------------------------
# The manifest and its clips
# --------------------------------------------------------------------------------------------------------


def _store(text: bytes, open_clip: Opener, folder: Path, max_clip_seconds: float, problems: _Problems) -> StoredSet:
    """Check the manifest and every clip it names, copying the clips into ``folder``; then write the normalized
    manifest. Raises :class:`TestSetError` with every problem found."""
    clips = _parse_manifest(text, problems)
    stored: dict[PurePosixPath, tuple[str, float] | None] = {}  # source path → (stored path, seconds) or None
    audio = folder / AUDIO_FOLDER
    audio.mkdir(parents=True)
    for clip in clips:
        if clip.path not in stored:
            name = f"{AUDIO_FOLDER}/{len(stored) + 1:05d}{_suffix(clip.path)}"
            seconds = _copy_clip(clip, open_clip, folder / name, max_clip_seconds, problems)
            stored[clip.path] = (name, seconds) if seconds is not None else None
    problems.check()
    lines = ["\t".join(STORED_COLUMNS)]
    items: dict[str, dict[str, int]] = {}
    for clip in clips:
        name, seconds = stored[clip.path]  # type: ignore[misc]  (every clip was stored: no problem was found)
        fields = (clip.id, clip.language, clip.task, name, f"{seconds:.3f}", clip.reference_text, clip.ref_quality,
                  clip.notes, str(clip.path))  # fmt: skip
        lines.append("\t".join(fields))
        languages = items.setdefault(clip.task, {})
        languages[clip.language] = languages.get(clip.language, 0) + 1
    (folder / MANIFEST_NAME).write_text("\n".join(lines) + "\n", encoding="utf-8")
    seconds = sum(entry[1] for entry in stored.values() if entry is not None)
    return StoredSet(items, round(seconds, 3))


def _suffix(path: PurePosixPath) -> str:
    suffix = path.suffix.lower()[:10]
    return suffix if suffix[1:].isalnum() else ""


def _copy_clip(
    clip: _Clip, open_clip: Opener, target: Path, max_clip_seconds: float, problems: _Problems
) -> float | None:
    """Copy a clip's file to ``target`` and decode it: its seconds, or None after reporting why it cannot be used."""
    source = open_clip(clip.path)
    if isinstance(source, str):
        problems.add(source, clip.line, clip.id, "path")
        return None
    try:
        with target.open("wb") as out:
            shutil.copyfileobj(source, out, 1 << 20)
        samples = decode_audio(target, name=str(clip.path), max_seconds=max_clip_seconds)
    except AudioError as exc:
        problems.add(exc.message, clip.line, clip.id, "path")
        return None
    except (zipfile.BadZipFile, OSError, EOFError) as exc:  # a damaged ZIP member (bad CRC, cut short)
        problems.add(f"cannot read '{clip.path}' from the upload: {exc}", clip.line, clip.id, "path")
        return None
    return samples.size / SAMPLE_RATE


def _parse_manifest(text: bytes, problems: _Problems) -> list[_Clip]:
    """The manifest's clips, each checked on its own; raises :class:`TestSetError` when the header is unusable or
    there are too many rows. Rows with problems are reported and left out."""
    before = problems.total  # a ZIP's problems found already are reported with the manifest's
    try:
        lines = _tsv_lines(text)
    except (UnicodeDecodeError, csv.Error) as exc:
        problems.add(f"{MANIFEST_NAME} is not UTF-8 tab-separated text: {exc}")
        problems.check()
    if not lines:
        problems.add(f"{MANIFEST_NAME} is empty (it needs a header row)")
        problems.check()
    _, header = lines[0]
    header = [name.strip() for name in header]
    for column in REQUIRED_COLUMNS:
        if column not in header:
            problems.add(f"missing column '{column}' (columns: {', '.join(REQUIRED_COLUMNS)}; tab-separated)", 1,
                         column=column)  # fmt: skip
    for column in sorted({c for c in header if header.count(c) > 1}):
        problems.add(f"the column '{column[:50]}' appears twice", 1, column=column[:50])
    if len(lines) - 1 > MAX_CLIPS:
        problems.add(f"{len(lines) - 1} clips; the limit is {MAX_CLIPS}")
    if problems.total > before:  # no row can be read
        problems.check()
    clips, first_line = [], {}
    for line, fields in lines[1:]:
        if len(fields) != len(header):
            problems.add(f"{len(fields)} fields; the header has {len(header)} (fields are separated by tabs)", line,
                         fields[0].strip()[:MAX_ID_CHARS])  # fmt: skip
            continue
        clip = _parse_row(line, dict(zip(header, fields, strict=True)), problems)
        if clip is None:
            continue
        if clip.id in first_line:
            problems.add(f"duplicate id (first on line {first_line[clip.id]})", line, clip.id, "id")
            continue
        first_line[clip.id] = line
        clips.append(clip)
    if not clips and problems.total == before:
        problems.add(f"{MANIFEST_NAME} has no clips (only a header row)")
    return clips


def _tsv_lines(text: bytes) -> list[tuple[int, list[str]]]:
    """Non-blank lines as ``(line number, fields)``: UTF-8 (a byte-order mark tolerated), tabs, no quoting."""
    reader = csv.reader(io.StringIO(text.decode("utf-8-sig"), newline=""), delimiter="\t", quoting=csv.QUOTE_NONE)
    return [(reader.line_num, fields) for fields in reader if any(f.strip() for f in fields)]


def _parse_row(line: int, row: dict[str, str], problems: _Problems) -> _Clip | None:
    """One row as a clip, or None after reporting what is wrong with it."""
    before = problems.total
    clip_id = row["id"].strip()
    if not clip_id:
        problems.add("empty id", line, None, "id")
    elif len(clip_id) > MAX_ID_CHARS or not clip_id.isprintable():
        problems.add(f"the id must be printable and at most {MAX_ID_CHARS} characters", line, None, "id")
        clip_id = ""
    language, task = row["language"].strip(), row["task"].strip()
    if language not in LANGUAGES:
        problems.add(f"unknown language '{language[:20]}' (zh or en)", line, clip_id, "language")
    if task not in TASKS:
        problems.add(f"unknown task '{task[:20]}' ({', '.join(TASKS)})", line, clip_id, "task")
    path = safe_path(row["path"])
    if not row["path"].strip():
        problems.add("empty path", line, clip_id, "path")
    elif path is None:
        problems.add(f"unsafe path '{row['path'][:200]}' (absolute, or leading out of the manifest's folder)", line,
                     clip_id, "path")  # fmt: skip
    reference = row["reference_text"].strip()
    if task in TRANSCRIBED_TASKS and not reference:
        problems.add(f"empty reference_text (a {task} clip needs the text spoken)", line, clip_id, "reference_text")
    duration = row.get("duration_s", "").strip()
    if duration and not _is_seconds(duration):
        problems.add(f"bad duration_s '{duration[:20]}' (seconds, a number ≥ 0)", line, clip_id, "duration_s")
    quality = row.get("ref_quality", "").strip() or "A"
    if quality not in QUALITIES:
        problems.add(f"unknown ref_quality '{quality[:20]}' (A, B, C or D)", line, clip_id, "ref_quality")
    if problems.total > before or path is None:
        return None
    return _Clip(line, clip_id, language, task, path, reference, quality, row.get("notes", "").strip())


def _is_seconds(text: str) -> bool:
    try:
        value = float(text)
    except ValueError:
        return False
    return math.isfinite(value) and value >= 0


# --------------------------------------------------------------------------------------------------------
# A stored set
# --------------------------------------------------------------------------------------------------------


def stored_clips(folder: Path) -> list[dict[str, str | float]]:
    """A stored set's clips in manifest order: id, language, task, path (as uploaded), duration_s,
    reference_text, ref_quality."""
    lines = _tsv_lines((folder / MANIFEST_NAME).read_bytes())
    header = lines[0][1]
    clips = []
    for _, fields in lines[1:]:
        row = dict(zip(header, fields, strict=True))
        clips.append(
            {
                "id": row["id"],
                "language": row["language"],
                "task": row["task"],
                "path": row["source_path"],
                "duration_s": float(row["duration_s"]),
                "reference_text": row["reference_text"],
                "ref_quality": row["ref_quality"],
            }
        )
    return clips


def remove_folder(folder: Path) -> None:
    """Remove a folder and what it holds, then its parents that this left empty (a run's ``runs`` folder; a test
    set's folder that a stopped run's process wrote into after it was deleted)."""
    shutil.rmtree(folder, ignore_errors=True)
    for parent in (folder.parent, folder.parent.parent):
        try:
            os.rmdir(parent)
        except OSError:  # not empty (or gone): it stays
            return
