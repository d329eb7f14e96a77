"""Receiving uploaded files: streamed to disk with a size limit (checked while streaming), never held in memory."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from fastapi import UploadFile

from shenggu.audio import EmptyAudioError
from shenggu.errors import ShengguError


class UploadTooLargeError(ShengguError):
    """The uploaded file is bigger than the configured limit."""

    code = "upload_too_large"
    http_status = 413


@dataclass(frozen=True)
class StoredUpload:
    """An upload written to disk and synced, with its SHA-256."""

    path: Path
    sha256: str
    size: int


def _copy(upload: UploadFile, fd: int, max_bytes: int) -> tuple[str, int]:
    """Stream ``upload`` into the open file ``fd``; return its SHA-256 and size; fsync before returning."""
    digest, size = hashlib.sha256(), 0
    with os.fdopen(fd, "wb") as out:
        while block := upload.file.read(1 << 20):
            size += len(block)
            if size > max_bytes:
                raise UploadTooLargeError(f"file is larger than the limit of {max_bytes // (1 << 20)} MB")
            digest.update(block)
            out.write(block)
        out.flush()
        os.fsync(out.fileno())
    if size == 0:
        raise EmptyAudioError(f"uploaded file '{upload.filename or 'file'}' is empty")
    return digest.hexdigest(), size


def _suffix(upload: UploadFile) -> str:
    suffix = Path(upload.filename or "").suffix[:10]
    return suffix if suffix[1:].isalnum() else ""


@contextmanager
def saved_upload(upload: UploadFile, max_bytes: int) -> Iterator[Path]:
    """Copy ``upload`` to a temporary file (deleted afterwards) and yield its path."""
    fd, name = tempfile.mkstemp(prefix="shenggu-upload-", suffix=_suffix(upload))
    try:
        _copy(upload, fd, max_bytes)
        yield Path(name)
    finally:
        os.unlink(name)


def persist_upload(upload: UploadFile, directory: Path, max_bytes: int) -> StoredUpload:
    """Store ``upload`` durably in ``directory`` (written, synced, then renamed into place)."""
    directory.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=".incoming-", suffix=_suffix(upload), dir=directory)
    try:
        sha256, size = _copy(upload, fd, max_bytes)
        final = directory / f"{sha256[:16]}-{os.path.basename(name)[10:]}"
        os.replace(name, final)
    except BaseException:
        if os.path.exists(name):
            os.unlink(name)
        raise
    return StoredUpload(final, sha256, size)


def sha256_of(path: Path) -> str:
    """SHA-256 of a stored file, to verify it before a job uses it."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()
