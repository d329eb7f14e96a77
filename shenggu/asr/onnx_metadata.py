"""The metadata of an ONNX model file, read without loading its weights.

An ONNX file is one protobuf ``ModelProto``; its ``metadata_props`` (field 14) are key/value string pairs
(``StringStringEntryProto``: key = field 1, value = field 2). Reading only the top-level fields and seeking over
the others (the graph holds the weights) takes milliseconds for a model of any size, where loading it in
onnxruntime would take seconds and its memory.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from shenggu.errors import ModelError

_METADATA_FIELD = 14
_VARINT, _LENGTH_DELIMITED = 0, 2
_FIXED_SIZES = {1: 8, 5: 4}  # wire types 1 and 5: 64- and 32-bit numbers


class _Malformed(ValueError):
    pass


def read_onnx_metadata(path: Path) -> dict[str, str]:
    """The ``metadata_props`` of the ONNX model at ``path``; a ``ModelError`` if it is not an ONNX file."""
    metadata: dict[str, str] = {}
    try:
        with path.open("rb") as f:
            for _, value in _fields(f, path.stat().st_size, wanted=_METADATA_FIELD):
                entry = dict(_fields(io.BytesIO(value), len(value), wanted=None))
                metadata[entry.get(1, b"").decode("utf-8")] = entry.get(2, b"").decode("utf-8")
    except (_Malformed, UnicodeDecodeError) as exc:
        raise ModelError(f"{path} is not a readable ONNX model ({exc})") from exc
    return metadata


def _fields(f: BinaryIO, end: int, wanted: int | None) -> Iterator[tuple[int, bytes]]:
    """The length-delimited fields numbered ``wanted`` (all when None) of the message in ``f`` up to ``end``; the
    other fields are skipped by seeking, unread."""
    while f.tell() < end:
        tag = _read_varint(f)
        field, wire_type = tag >> 3, tag & 7
        if wire_type == _LENGTH_DELIMITED:
            length = _read_varint(f)
            if f.tell() + length > end:
                raise _Malformed(f"field {field} runs past the end")
            if wanted is None or field == wanted:
                yield field, f.read(length)
            else:
                f.seek(length, io.SEEK_CUR)
        elif wire_type == _VARINT:
            _read_varint(f)
        elif wire_type in _FIXED_SIZES:
            f.seek(_FIXED_SIZES[wire_type], io.SEEK_CUR)
        else:
            raise _Malformed(f"unexpected protobuf wire type {wire_type}")


def _read_varint(f: BinaryIO) -> int:
    value = 0
    for shift in range(0, 64, 7):
        byte = f.read(1)
        if not byte:
            raise _Malformed("it ends inside a number")
        value |= (byte[0] & 0x7F) << shift
        if byte[0] < 0x80:
            return value
    raise _Malformed("a number longer than 64 bits")
