"""The metadata stamped into an .onnx file by `fer export`, read without loading the model.

ONNX files are one protobuf ``ModelProto``. Its metadata (field 14, key/value
string pairs) is serialized after the graph, which holds the weights (about
15 MB for the shipped model). Instead of parsing the whole file (ONNX Runtime
or ``onnx.load``), this reads the top-level fields one by one and seeks past
every one but the metadata: a few hundred bytes read, whatever the model's size.
The protobuf wire format is stable, so this needs no ``onnx`` import either.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

from fer_cli.errors import ModelError

# Keys fer writes (see `fer_cli.exporting.exporter`).
CLASS_NAMES_KEY = "class_names"  # JSON list: output index → class name
DIGEST_KEY = "source_sha256"  # SHA-256 of the .keras file an exact export came from (see `runtimes.twin`)
QUANTIZE_KEY = "quantize"  # none, float16 or int8: only an exact (none) export may stand in for its .keras file
VIEWS_KEY = "built_in_views"  # none, flip or crops: test-time views inside the graph
TEMPERATURE_KEY = "temperature"  # the calibration temperature inside the graph (`fer export --calibrate`); absent if none

_METADATA_FIELD = 14  # ModelProto.metadata_props
_VARINT, _FIXED64, _LENGTH, _FIXED32 = 0, 1, 2, 5  # protobuf wire types


def read_metadata(path: Path) -> dict[str, str]:
    """The metadata of an .onnx file (``metadata_props``), without reading its graph.

    Args:
        path: the .onnx file.

    Returns:
        Key → value, as written at export; empty for a model without metadata.

    Raises:
        ModelError: when the file cannot be read or is not an ONNX protobuf.
    """
    try:
        with Path(path).open("rb") as stream:
            return _scan_model(stream, os.fstat(stream.fileno()).st_size)
    except OSError as exc:
        raise ModelError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except ValueError as exc:
        raise ModelError(f"{path} is not an ONNX model ({exc})") from exc


def _scan_model(stream: BinaryIO, size: int) -> dict[str, str]:
    metadata: dict[str, str] = {}
    while (tag := _varint(stream, at_field_start=True)) is not None:
        field, wire_type = tag >> 3, tag & 7
        if wire_type == _VARINT:
            _varint(stream)
        elif wire_type in (_FIXED64, _FIXED32):
            _skip(stream, 8 if wire_type == _FIXED64 else 4, size)
        elif wire_type == _LENGTH:
            length = _varint(stream)
            if field == _METADATA_FIELD:
                key, value = _entry(_read(stream, length))
                metadata[key] = value
            else:
                _skip(stream, length, size)
        else:
            raise ValueError(f"unexpected protobuf wire type {wire_type}")
    return metadata


def _entry(data: bytes) -> tuple[str, str]:
    """Decode a ``StringStringEntryProto``: key (field 1) and value (field 2)."""
    fields = {1: b"", 2: b""}
    position = 0
    while position < len(data):
        tag, position = _varint_at(data, position)
        if tag & 7 != _LENGTH:
            raise ValueError("malformed metadata entry")
        length, position = _varint_at(data, position)
        if position + length > len(data):
            raise ValueError("truncated metadata entry")
        fields[tag >> 3] = data[position : position + length]
        position += length
    return fields[1].decode("utf-8"), fields[2].decode("utf-8")


def _varint(stream: BinaryIO, at_field_start: bool = False) -> int | None:
    """Read one varint; `None` at a clean end of file (only allowed where a field may start)."""
    result = shift = 0
    while True:
        byte = stream.read(1)
        if not byte:
            if at_field_start and shift == 0:
                return None
            raise ValueError("truncated")
        result |= (byte[0] & 0x7F) << shift
        if byte[0] < 0x80:
            return result
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def _varint_at(data: bytes, position: int) -> tuple[int, int]:
    result = shift = 0
    while position < len(data):
        byte = data[position]
        position += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, position
        shift += 7
    raise ValueError("truncated")


def _read(stream: BinaryIO, length: int) -> bytes:
    data = stream.read(length)
    if len(data) != length:
        raise ValueError("truncated")
    return data


def _skip(stream: BinaryIO, length: int, size: int) -> None:
    if stream.seek(length, os.SEEK_CUR) > size:
        raise ValueError("truncated")
