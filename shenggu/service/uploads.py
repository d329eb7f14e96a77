"""Receiving uploaded files: streamed to a temporary file with a size limit, never held whole in memory."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fastapi import UploadFile

from shenggu.audio import EmptyAudioError
from shenggu.errors import ShengguError


class UploadTooLargeError(ShengguError):
    """The uploaded file is bigger than the configured limit."""

    code = "upload_too_large"
    http_status = 413


@contextmanager
def saved_upload(upload: UploadFile, max_bytes: int) -> Iterator[Path]:
    """Copy ``upload`` to a temporary file (deleted afterwards) and yield its path."""
    suffix = Path(upload.filename or "").suffix[:10]
    fd, name = tempfile.mkstemp(prefix="shenggu-upload-", suffix=suffix)
    try:
        size = 0
        with os.fdopen(fd, "wb") as out:
            while block := upload.file.read(1 << 20):
                size += len(block)
                if size > max_bytes:
                    raise UploadTooLargeError(f"file is larger than the limit of {max_bytes // (1 << 20)} MB")
                out.write(block)
        if size == 0:
            raise EmptyAudioError(f"uploaded file '{upload.filename or 'file'}' is empty")
        yield Path(name)
    finally:
        os.unlink(name)
