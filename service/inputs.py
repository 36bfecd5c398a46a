"""Protocol-neutral checks of a model's input batch: shape, finiteness and range, in one place.

Every protocol turns its wire format into a NumPy array and hands it here (v1's
:func:`service.schemas.to_batch`, V2's :mod:`service.v2`), so a value that one protocol refuses
is refused by the other with the same message. Errors are keyed by field path (``images.3``).
"""

from __future__ import annotations

import functools
import math

import numpy as np

from .engine import Model
from .errors import InvalidInputError

MAX_DETAILS = 10  # per-item error entries reported at most, to keep error bodies small
_F32_MAX = float(np.finfo(np.float32).max)


def shape_text(model: Model) -> str:
    """How one input of ``model`` may be written: ``28x28 nested or 784 flat numbers``."""
    shape = model.info.input_shape
    if len(shape) == 1:
        return f"a list of {shape[0]} number{'s' if shape[0] != 1 else ''}"
    nested = "x".join(str(s) for s in shape)
    return f"{nested} nested or {model.input_size} flat numbers"


def range_text(model: Model) -> str:
    """The valid range of ``model``'s input values, as a sentence for error messages."""
    lo, hi = model.info.input_min, model.info.input_max
    fmt = "{:g}".format
    if math.isfinite(lo) and math.isfinite(hi):
        return f"Values must be between {fmt(lo)} and {fmt(hi)}"
    if math.isfinite(lo):
        return f"Values must be >= {fmt(lo)} and within float32 range"
    if math.isfinite(hi):
        return f"Values must be <= {fmt(hi)} and within float32 range"
    return "Values must be within float32 range (|x| <= 3.4e38)"


def bounds(model: Model) -> tuple[float, float]:
    """The model's input range clamped to float32's (the values are about to become float32)."""
    return max(model.info.input_min, -_F32_MAX), min(model.info.input_max, _F32_MAX)


def check_batch(arr: np.ndarray, field: str, model: Model) -> np.ndarray:
    """A numeric batch of any dtype -> the model's float32 input, refusing what it must not see.

    Parameters
    ----------
    arr : array, shape (n, input_size), any integer or float dtype
    field : str
        ``"images"`` or ``"features"``, the prefix of error paths.

    Returns
    -------
    float32 array, shape (n, model.input_size), C-contiguous.

    Raises
    ------
    InvalidInputError
        NaN, infinity or a value out of the model's range, keyed ``field.i`` (first bad value).
    """
    # Integers from a range starting at 0 (pixels) need one reduction: seen as unsigned, a
    # negative integer is huge. Otherwise two; NaN propagates through min/max.
    lo, hi = bounds(model)
    kind = arr.dtype.kind
    if kind in "iu" and lo <= _int_range(arr.dtype)[0] and _int_range(arr.dtype)[1] <= hi:
        ok = True  # the dtype cannot hold a value out of range (V2's UINT8 pixels)
    elif kind == "u" and lo <= 0:
        ok = arr.max() <= hi
    elif kind == "i" and lo == 0:
        ok = arr.view(arr.dtype.str.replace("i", "u")).max() <= hi
    else:
        ok = arr.min() >= lo and arr.max() <= hi
    if not ok:
        _range_errors(arr, field, model)
    return arr.astype(np.float32)


@functools.cache
def _int_range(dtype: np.dtype) -> tuple[int, int]:
    """The values an integer dtype can hold, looked up once (``np.iinfo`` costs 1.7 µs a call;
    the HTTP figure is that of :func:`service.schemas._pixels`, measured together)."""
    info = np.iinfo(dtype)
    return int(info.min), int(info.max)


def _range_errors(arr: np.ndarray, field: str, model: Model) -> None:
    with np.errstate(invalid="ignore"):
        lo, hi = bounds(model)
        bad = (arr < lo) | (arr > hi)
        if arr.dtype.kind == "f":
            bad |= ~np.isfinite(arr)
    details: dict[str, list[str]] = {}
    text = range_text(model)
    for i in np.flatnonzero(bad.any(axis=1))[:MAX_DETAILS].tolist():
        j = int(np.flatnonzero(bad[i])[0])
        details[f"{field}.{i}"] = [f"{text}; got {arr[i, j]:g} at flat index {j}."]
    raise InvalidInputError(f"{field}: values out of range", details)
