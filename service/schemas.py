"""Request validation: marshmallow for the JSON envelope, one vectorised NumPy step for the arrays.

The envelope (``model``, exactly one of ``images``/``features``, a non-empty batch under the cap, no
unknown keys) is a marshmallow schema. The numbers are not: a marshmallow field per pixel would
cost more than the model, so :func:`to_batch` converts a whole batch with one ``np.array`` (after
:func:`body_kind` has proved from the raw bytes that the arrays hold only numbers; flat pixel
images go through ``bytes()``, :func:`_pixels`) and checks shape, finiteness and range with one or
two reductions. Only when that fast path fails does a slow
walk find *where* the input is wrong, so that every error is keyed by its field path
(``images.3``, ``images.3.27``, ``features.0.1``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import orjson
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from .artifact import NAME_RE
from .engine import Model
from .errors import InvalidInputError
from .inputs import MAX_DETAILS, bounds, check_batch, shape_text

INPUT_FIELDS = ("images", "features")


class Batch(fields.Raw):
    """A non-empty JSON list of items, at most ``max_batch`` long; the items are left as they are
    (their content is checked in one vectorised step by :func:`to_batch`)."""

    default_error_messages = {  # noqa: RUF012 (marshmallow's own convention)
        "type": "Must be a list.",
        "empty": "Must hold at least one item.",
        "too_long": "Holds {n} items; the maximum batch size is {max}.",
    }

    def __init__(self, max_batch: int, **kwargs):
        super().__init__(**kwargs)
        self.max_batch = max_batch

    def _deserialize(self, value, attr, data, **kwargs):
        if type(value) is not list:
            raise self.make_error("type")
        if not value:
            raise self.make_error("empty")
        if len(value) > self.max_batch:
            raise self.make_error("too_long", n=len(value), max=self.max_batch)
        return value


class PredictSchema(Schema):
    """``{"model": NAME?, "images": [...]}`` or ``{"model": NAME?, "features": [...]}``.

    Build it with :func:`make_predict_schema`, which sets the batch cap.
    """

    class Meta:
        unknown = RAISE

    model = fields.String(validate=validate.Regexp(NAME_RE, error="Not a valid model name."))

    @validates_schema
    def _one_input(self, data, **kwargs):
        present = [k for k in INPUT_FIELDS if k in data]
        if not present:
            raise ValidationError("Provide 'images' or 'features'.", "_schema")
        if len(present) > 1:
            raise ValidationError("Provide 'images' or 'features', not both.", "_schema")


def make_predict_schema(max_batch: int) -> PredictSchema:
    """A :class:`PredictSchema` whose batches hold 1 to ``max_batch`` items."""

    def doc(item: str) -> dict:
        return {"description": f"1 to {max_batch} {item}", "type": "array", "minItems": 1,
                "maxItems": max_batch, "items": {"type": "array", "items": {}}}  # fmt: skip

    class _Predict(PredictSchema):
        images = Batch(max_batch, metadata=doc("images: 28x28 nested or 784 flat pixels 0-255"))
        features = Batch(max_batch, metadata=doc("feature rows"))

    return _Predict()


def load_envelope(schema: PredictSchema, data: Any, max_batch: int) -> dict:
    """``data`` (a parsed JSON body) as ``schema`` loads it; :class:`InvalidInputError` if invalid.

    A plain envelope -- a dict of one of ``images``/``features`` (a list of 1 to ``max_batch``
    items) and maybe a valid ``model`` string -- is what marshmallow would load unchanged, and is
    recognised here in under a microsecond; marshmallow (9.5 µs) runs for everything else, and
    gives the messages. Its HTTP figure is :func:`_pixels`'s, measured together.
    """
    if _plain_envelope(data, max_batch):
        return data
    try:
        return schema.load(data)
    except ValidationError as e:
        raise InvalidInputError("invalid request", flatten_errors(e.messages)) from None


def _plain_envelope(data: Any, max_batch: int) -> bool:
    if type(data) is not dict:
        return False
    batch = None
    for key, value in data.items():
        if key == "model":
            if type(value) is not str or NAME_RE.match(value) is None:
                return False
        elif key in INPUT_FIELDS and batch is None:
            batch = value
        else:  # unknown, or both inputs
            return False
    return type(batch) is list and 0 < len(batch) <= max_batch


def flatten_errors(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's nested ``{"images": {0: [...]}}`` -> ``{"images.0": [...]}``."""
    out: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            out.update(flatten_errors(value, path))
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        out[prefix or "_schema"] = messages
    elif isinstance(messages, list):
        for value in messages:
            out.update(flatten_errors(value, prefix))
    else:
        out[prefix or "_schema"] = [str(messages)]
    return out


# -- the arrays ---------------------------------------------------------------------------------


_INT_CHARS = b"0123456789-,[] \t\r\n"  # what integer arrays are written with
_NUMBER_CHARS = _INT_CHARS + b".eE+"  # ... and any JSON numbers


def body_kind(body: bytes, data: dict, field: str) -> str:
    """How the numbers of a validated JSON body can be converted: ``"int"``, ``"float"`` or
    ``"exact"``, decided in about a microsecond by deleting bytes.

    Delete from the body every byte that integer arrays are written with (digits, ``-``, ``,``,
    brackets, whitespace): if what is left is exactly the envelope (the keys and the model name,
    rebuilt from ``data`` and put through the same deletion), the arrays hold integers and nothing
    else, and ``np.array(..., dtype=int64)`` is the fastest conversion there is. If it matches
    once ``.``, ``e``, ``E`` and ``+`` are deleted as well, they hold numbers only. Anything else
    (a string, ``true``/``false``/``null``, an object, an escape) takes the exact path, which checks
    every element in Python and says where the input is wrong: NumPy itself would silently turn
    ``True`` into 1 and ``"7"`` into 7.
    """
    envelope = (
        b"{"
        + b"".join(
            orjson.dumps(k) + b":" + (orjson.dumps(v) if isinstance(v, str) else b"")
            for k, v in data.items()
        )
        + b"}"
    )
    if body.translate(None, _INT_CHARS) == envelope.translate(None, _INT_CHARS):
        return "int"
    if body.translate(None, _NUMBER_CHARS) == envelope.translate(None, _NUMBER_CHARS):
        return "float"
    return "exact"


def to_batch(items: list, field: str, model: Model, kind: str = "exact") -> np.ndarray:
    """Convert a validated envelope's item list into the model's input batch.

    Parameters
    ----------
    items : list
        One entry per input: nested lists in the model's ``input_shape`` or flat lists of
        ``input_size`` numbers.
    field : str
        ``"images"`` or ``"features"``, the prefix of error paths.
    model : Model
    kind : str
        What :func:`body_kind` says the items may hold: ``"int"`` (integers only), ``"float"``
        (numbers only) or ``"exact"`` (anything: every element's type is checked).

    Returns
    -------
    float32 array, shape (len(items), model.input_size), C-contiguous.

    Raises
    ------
    InvalidInputError
        Keyed by field path: wrong shape, non-numeric values, NaN/infinity, values out of range.
    """
    n = len(items)
    arr = _pixels(items, model) if kind == "int" else None
    if arr is None and kind != "exact":
        try:
            arr = np.array(items, dtype=np.int64 if kind == "int" else np.float64)
        except (ValueError, TypeError, OverflowError):
            arr = None  # ragged, or an integer beyond int64: let the exact path say where
        if arr is not None and (
            arr.shape[1:] != model.info.input_shape and arr.shape[1:] != (model.input_size,)
        ):
            arr = None
    if arr is None:
        _diagnose(items, field, model)  # raises with the paths of what is wrong
        # Well-formed after all: nested and flat items mixed, or booleans ruled out. Item by item.
        arr = np.empty((n, model.input_size), np.float64)
        for i, item in enumerate(items):
            try:
                arr[i] = np.asarray(item, dtype=np.float64).reshape(-1)
            except (ValueError, TypeError, OverflowError):
                raise InvalidInputError(
                    f"{field}: invalid input", {f"{field}.{i}": ["Not a list of numbers."]}
                ) from None
    return check_batch(arr.reshape(n, model.input_size), field, model)


def _pixels(items: list, model: Model) -> np.ndarray | None:
    """Flat integer items for a model whose range holds 0-255 -> uint8 (n, input_size), else None.

    ``bytes(item)`` turns a list of ints into bytes in C and refuses any value outside 0-255, so
    one call converts an image and proves its range: 6 µs for 784 pixels, against 19 µs for
    ``np.array(..., int64)`` and 8 µs more for the range check. Anything else (nested items, a
    value out of 0-255, a wrong length) returns None and takes the general path, which says what
    is wrong. Measured at the HTTP level: one-image JSON ``/predict`` at 8 keep-alive
    connections, this with :func:`load_envelope` and the cached integer ranges of
    :func:`service.inputs.check_batch`: server CPU 0.885 -> 0.772 ms per request, 1,117 -> 1,274
    req/s (8 alternated 3 s wrk rounds, medians, the other core busy with training; re-measure:
    ``make bench``, BENCHMARKS.md "HTTP").
    """
    lo, hi = bounds(model)
    size = model.input_size
    if lo > 0 or hi < 255:
        return None
    rows = []
    try:
        for item in items:
            if type(item) is not list or len(item) != size:
                return None
            rows.append(bytes(item))
    except (TypeError, ValueError):  # not an int, or outside 0-255
        return None
    return np.frombuffer(b"".join(rows), np.uint8).reshape(len(items), size)


def _is_number(v: Any) -> bool:
    t = type(v)
    if t is int:
        return True
    if t is float:
        return math.isfinite(v)
    return False


def _diagnose(items: list, field: str, model: Model) -> None:
    """Walk the items in Python and raise with a path for each wrong one (slow path only)."""
    details: dict[str, list[str]] = {}
    shape = model.info.input_shape
    want = shape_text(model)
    for i, item in enumerate(items):
        if len(details) >= MAX_DETAILS:
            break
        path = f"{field}.{i}"
        if type(item) is not list:
            details[path] = [f"Must be {want}."]
            continue
        # Nested when the model's shape is multi-dimensional and the item starts with a list.
        if len(shape) > 1 and item and type(item[0]) is list:
            err = _walk(item, shape, path)
        else:
            err = _walk(item, (model.input_size,), path)
            if err and len(shape) > 1 and err[0] == path:
                err = (path, f"Must be {want}; got a list of {len(item)}.")
        if err:
            details[err[0]] = [err[1]]
    if details:
        raise InvalidInputError(f"{field}: invalid input", details)


def _walk(value: Any, shape: tuple[int, ...], path: str) -> tuple[str, str] | None:
    if type(value) is not list:
        return path, f"Must be a list of {shape[0]}."
    if len(value) != shape[0]:
        return path, f"Must have length {shape[0]}; got {len(value)}."
    if len(shape) == 1:
        for j, v in enumerate(value):
            if not _is_number(v):
                if type(v) is float:
                    return f"{path}.{j}", "Must be a finite number."
                if type(v) is int:  # pragma: no cover - ints are always numbers
                    continue
                return f"{path}.{j}", "Not a number."
        return None
    for j, v in enumerate(value):
        err = _walk(v, shape[1:], f"{path}.{j}")
        if err:
            return err
    return None
