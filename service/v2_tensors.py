"""V2 request tensors on the wire -> NumPy arrays, in JSON and the binary tensor extension.

A request body is JSON, or (binary tensor extension) JSON of ``Inference-Header-Content-Length``
bytes followed by the raw data of every input whose ``parameters.binary_data_size`` says so, in
input order. Numbers travel little-endian; ``BYTES`` elements as a 4-byte little-endian length and
the bytes. In JSON, ``data`` holds numbers (flat or nested, row-major) or, for ``BYTES``, base64
strings. Answers go the other way in :mod:`service.v2_outputs`.

Nothing here knows models: malformed input raises :class:`BadRequestError` keyed by field path;
whether a model takes a tensor is :mod:`service.v2`'s business.
"""

from __future__ import annotations

import binascii
import functools
import math
import struct
from itertools import chain
from typing import Any

import numpy as np
import orjson
from marshmallow import ValidationError

from .errors import BadRequestError
from .schemas import flatten_errors
from .v2_schemas import DATATYPES, MAX_RANK, InferenceRequest

HEADER = "Inference-Header-Content-Length"
NUMPY = {
    "BOOL": np.dtype("?"),
    **{f"UINT{b}": np.dtype(f"<u{b // 8}") for b in (8, 16, 32, 64)},
    **{f"INT{b}": np.dtype(f"<i{b // 8}") for b in (8, 16, 32, 64)},
    "FP16": np.dtype("<f2"),
    "FP32": np.dtype("<f4"),
    "FP64": np.dtype("<f8"),
}
DATATYPE = {dt.newbyteorder("<"): name for name, dt in NUMPY.items()}  # array dtype -> V2 name
_LEAVES = {"BOOL": {bool}, "BYTES": {str}, "FP16": {int, float}, "FP32": {int, float}}
_LEAVES["FP64"] = _LEAVES["FP32"]
_SCHEMA = InferenceRequest()
_TOP = {"id", "model_name", "model_version", "parameters", "inputs", "outputs"}
_INPUT, _OUTPUT = {"name", "shape", "datatype", "parameters", "data"}, {"name", "parameters"}
_STRINGS = ("id", "model_name", "model_version")  # envelope members that must be strings
LENGTH = struct.Struct("<I")  # a BYTES element's length prefix
_KEPT = 1024  # bytes: binary requests' JSON heads up to this size are parsed once (_binary_head)


# -- the request envelope -----------------------------------------------------------------------


def parse_request(body: bytes, header: str | None) -> tuple[dict, list[memoryview | None]]:
    """A request body -> (the validated JSON envelope, each input's binary data or None).

    ``header`` is the ``Inference-Header-Content-Length`` value, if the client sent one.
    """
    if header is None:
        head, rest = body, memoryview(b"")
    else:
        try:
            size = int(header)
        except ValueError:
            size = -1
        if not 0 <= size <= len(body):
            raise BadRequestError(
                f"invalid {HEADER} header", {HEADER: [f"Must be 0 to {len(body)}, the body size."]}
            )
        head, rest = body[:size], memoryview(body)[size:]
    request = _binary_head(head) if header is not None and len(head) <= _KEPT else _head(head)
    return request, _binary_parts(request["inputs"], rest)


def _head(head: bytes) -> dict:
    """A request's JSON -> its validated envelope."""
    try:
        data = orjson.loads(head)
    except orjson.JSONDecodeError as e:
        raise BadRequestError(f"malformed JSON: {e}") from None
    return data if _plain(data) else _validated(data)


# A client of the binary extension sends the same JSON head before the data of every request of
# one shape, so a short one is parsed and checked once and kept (read-only: nothing downstream
# changes a request). Its figure, with the answer heads', is in
# service.v2_outputs.binary_response's docstring.
_binary_head = functools.lru_cache(maxsize=256)(_head)


def _validated(data: Any) -> dict:
    try:
        return _SCHEMA.load(data)
    except ValidationError as e:
        raise BadRequestError("invalid request", flatten_errors(e.messages)) from None


def _plain(data: Any) -> bool:
    """True when ``data`` is certainly what :class:`InferenceRequest` accepts as it stands (the
    common request, checked in microseconds); anything else goes through the schema itself."""
    if type(data) is not dict or not data.keys() <= _TOP:
        return False
    if data.keys() & _STRINGS and not all(type(data.get(k, "")) is str for k in _STRINGS):
        return False
    params, inputs, outputs = (
        data.get("parameters", {}),
        data.get("inputs"),
        data.get("outputs", []),
    )
    if type(params) is not dict or type(params.get("binary_data_output", False)) is not bool:
        return False
    if type(inputs) is not list or not 1 <= len(inputs) <= 16:
        return False
    if type(outputs) is not list or len(outputs) > 16:
        return False
    return all(map(_plain_input, inputs)) and all(map(_plain_output, outputs))


def _plain_input(t: Any) -> bool:
    if type(t) is not dict or not t.keys() <= _INPUT or type(t.get("name")) is not str:
        return False
    shape, params = t.get("shape"), t.get("parameters", {})
    if type(shape) is not list or not 1 <= len(shape) <= MAX_RANK:
        return False
    if set(map(type, shape)) != {int} or min(shape) < 0 or type(params) is not dict:
        return False
    size = params.get("binary_data_size", 0)
    return type(size) is int and size >= 0 and t.get("datatype") in DATATYPES


def _plain_output(o: Any) -> bool:
    if type(o) is not dict or not o.keys() <= _OUTPUT or type(o.get("name")) is not str:
        return False
    params = o.get("parameters", {})
    return type(params) is dict and type(params.get("binary_data", False)) is bool


def _binary_parts(inputs: list[dict], rest: memoryview) -> list[memoryview | None]:
    parts: list[memoryview | None] = []
    offset = 0
    for i, t in enumerate(inputs):
        size = t.get("parameters", {}).get("binary_data_size")
        if size is None:
            parts.append(None)
            continue
        if "data" in t:
            raise BadRequestError(
                "both data and binary_data_size", {f"inputs.{i}": ["Send one or the other."]}
            )
        parts.append(rest[offset : offset + size])
        offset += size
    if offset != len(rest):
        raise BadRequestError(
            "binary data does not match binary_data_size",
            {HEADER: [f"The binary part holds {len(rest)} bytes; the inputs declare {offset}."]},
        )
    return parts


# -- tensors ------------------------------------------------------------------------------------


def decode(tensor: dict, blob: memoryview | None, path: str) -> np.ndarray | list[bytes]:
    """One input tensor -> an array of its declared shape and datatype (``BYTES``: the list of
    its elements, row-major). ``blob`` is its binary data, if it came in the binary part."""
    dt, shape = tensor["datatype"], tensor["shape"]
    count = math.prod(shape)
    if blob is None and "data" not in tensor:
        raise BadRequestError("missing data", {path: ["Send data or binary_data_size."]})
    if dt == "BYTES":
        items = _split_bytes(blob, path) if blob is not None else _json_bytes(tensor, path)
        if len(items) != count:
            raise _count_error(path, len(items), count)
        return items
    if dt not in NUMPY:
        raise BadRequestError(f"unsupported datatype {dt}", {f"{path}.datatype": ["Unknown."]})
    if blob is not None:
        if len(blob) != count * NUMPY[dt].itemsize:
            raise BadRequestError(
                "binary data size does not match the shape",
                {path: [f"Shape {shape} of {dt} takes {count * NUMPY[dt].itemsize} bytes; "
                        f"got {len(blob)}."]},
            )  # fmt: skip
        return np.frombuffer(blob, NUMPY[dt]).reshape(shape)
    items = _leaves(tensor["data"], dt, f"{path}.data")
    if len(items) != count:
        raise _count_error(path, len(items), count)
    # JSON numbers are exact in float64 (and range-checked by the caller); integers must fit.
    dtype = np.float64 if dt.startswith("FP") else NUMPY[dt]
    try:
        return np.array(items, dtype).reshape(shape)
    except OverflowError:
        raise BadRequestError(
            f"value out of range for {dt}", {f"{path}.data": [f"Values must fit {dt}."]}
        ) from None


def _count_error(path: str, got: int, want: int) -> BadRequestError:
    return BadRequestError(
        "data does not match the shape",
        {f"{path}.data": [f"The shape holds {want} elements; got {got}."]},
    )


def _leaves(data: Any, dt: str, path: str) -> list:
    """Flat or nested JSON lists -> the flat list of elements, all of a type ``dt`` allows."""
    if type(data) is not list:
        raise BadRequestError("invalid data", {path: ["Must be a list."]})
    items = data
    for _ in range(MAX_RANK + 1):
        types = set(map(type, items))
        if list not in types:
            break
        if types != {list}:
            raise BadRequestError("invalid data", {path: ["Mixes lists and elements."]})
        items = list(chain.from_iterable(items))
    else:
        raise BadRequestError("invalid data", {path: [f"Nested deeper than {MAX_RANK} levels."]})
    allowed = _LEAVES.get(dt, {int})
    if not types <= allowed:
        kinds = " or ".join(sorted(t.__name__ for t in allowed))
        raise BadRequestError("invalid data", {path: [f"{dt} elements must be JSON {kinds}."]})
    return items


def _json_bytes(tensor: dict, path: str) -> list[bytes]:
    items = _leaves(tensor["data"], "BYTES", f"{path}.data")
    try:
        return [binascii.a2b_base64(s, strict_mode=True) for s in items]
    except (binascii.Error, ValueError):
        raise BadRequestError(
            "invalid BYTES data", {f"{path}.data": ["BYTES elements must be base64 strings."]}
        ) from None


def _split_bytes(blob: memoryview, path: str) -> list[bytes]:
    """Length-prefixed elements (4-byte little-endian length, then the bytes) -> the elements."""
    items, pos = [], 0
    while pos < len(blob):
        if pos + 4 > len(blob):
            raise BadRequestError("truncated BYTES data", {path: ["A length prefix is cut."]})
        (n,) = LENGTH.unpack_from(blob, pos)
        if pos + 4 + n > len(blob):
            raise BadRequestError("truncated BYTES data", {path: ["An element is cut."]})
        items.append(bytes(blob[pos + 4 : pos + 4 + n]))
        pos += 4 + n
    return items
