"""Receiving uploaded files: streamed to disk with a size limit (checked while streaming), never held in memory.

Errors about an upload call it "the uploaded file", never by the server path it was saved to (``upload_errors``):
the client sees no temporary or data directory."""

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
from shenggu.service.errors import error_response

UPLOADED_FILE = "the uploaded file"


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


def _without_path(message: str, path: Path | str) -> str:
    """``message`` with the server path of an upload (quoted, as the audio decoder names files, or bare) replaced
    by "the uploaded file"."""
    return message.replace(f"'{path}'", UPLOADED_FILE).replace(str(path), UPLOADED_FILE)


@contextmanager
def upload_errors(path: Path | str) -> Iterator[None]:
    """Errors raised in the block call the upload at ``path`` "the uploaded file" (the exception is kept, with
    its message changed, so handlers see the same type and attributes)."""
    try:
        yield
    except ShengguError as exc:
        exc.message = _without_path(exc.message, path)
        exc.args = (exc.message,)
        raise


@contextmanager
def saved_upload(upload: UploadFile, max_bytes: int) -> Iterator[Path]:
    """Copy ``upload`` to a temporary file (deleted afterwards) and yield its path; errors raised in the block
    never name that path."""
    fd, name = tempfile.mkstemp(prefix="shenggu-upload-", suffix=_suffix(upload))
    try:
        _copy(upload, fd, max_bytes)
        with upload_errors(name):
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


class BodySizeLimit:
    """ASGI middleware: refuse request bodies over ``max_bytes`` while they stream in (413), before any buffering.

    A declared Content-Length over the limit is refused at once; a chunked body is counted as it arrives and the
    request fails as soon as it passes the limit.
    """

    _OVERHEAD = 64 << 10  # room for multipart headers and form fields around the file

    def __init__(self, app, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes + self._OVERHEAD

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_large = UploadTooLargeError(f"request body is larger than the limit of {self.max_bytes >> 20} MB")
        declared = dict(scope.get("headers", ())).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await _error(too_large)(scope, receive, send)
            return
        received, exceeded, started = 0, False, False

        async def counting_receive():
            # Past the limit the app is told the client went away; its response is then replaced by the 413.
            nonlocal received, exceeded
            if exceeded:
                return {"type": "http.disconnect"}
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                exceeded = True
                return {"type": "http.disconnect"}
            return message

        async def guarded_send(message) -> None:
            nonlocal started
            if exceeded and not started:
                return
            started = True
            await send(message)

        await self.app(scope, counting_receive, guarded_send)
        if exceeded and not started:
            await _error(too_large)(scope, receive, send)


def _error(exc: ShengguError):
    return error_response(exc.http_status, exc.code, exc.message)
