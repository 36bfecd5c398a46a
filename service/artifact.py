"""The ``.npz`` contract: read a model file with limits, validate it, attach its model card.

Nothing here computes a prediction. :func:`read_artifact` turns a path into an :class:`Artifact`
(validated float32/int64/str arrays plus metadata) or raises :class:`ArtifactError` with a
one-line reason, which the registry reports as the file's refusal reason.

Reading is bounded before anything is decoded (:mod:`service.npz_reader`), so a crafted file
costs at most its legitimate size in memory.

Nothing in the file is ever executed: no pickle is ever loaded.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from .errors import ArtifactError
from .npz_reader import Limits, read_members, read_regular

FORMAT_VERSION = 1
TASKS = ("multiclass", "binary", "regression")
INPUT_KINDS = ("image", "features")
HIDDEN_ACTIVATIONS = ("relu", "sigmoid", "tanh", "leaky_relu")
OUTPUT_ACTIVATION = {"multiclass": "softmax", "binary": "sigmoid", "regression": "identity"}
VERSION_RE = re.compile(r"^\d{8}T\d{6}Z$")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_MAX_CARD_BYTES = 1024 * 1024


@dataclass(frozen=True)
class ModelInfo:
    """What a validated model file says about itself, and where it came from."""

    name: str
    version: str
    task: str
    input_kind: str
    input_shape: tuple[int, ...]
    input_min: float
    input_max: float
    layer_sizes: tuple[int, ...]
    activations: tuple[str, ...]
    labels: tuple[int, ...] | None
    sha256: str
    path: str
    card: dict[str, Any] | None
    card_error: str | None


@dataclass(frozen=True)
class Artifact:
    """A validated model file: its metadata and its arrays as the contract names them."""

    info: ModelInfo
    arrays: dict[str, np.ndarray]


def read_artifact(path: str | Path, limits: Limits = Limits()) -> Artifact:
    """Read, bound and validate one ``NAME.npz`` and its card ``NAME.json``.

    Raises
    ------
    ArtifactError
        With a one-line reason: not a regular file, over a cap, not a zip, pickled, corrupt, or
        breaking the contract (README, "The ``.npz`` model format").
    """
    path = Path(path)
    raw = read_regular(path, limits.max_file_bytes, "model file")
    arrays = read_members(raw, limits)
    card, card_error = _read_card(path.with_suffix(".json"))
    return _validate(arrays, path, hashlib.sha256(raw).hexdigest(), card, card_error)


def _read_card(card_path: Path) -> tuple[dict[str, Any] | None, str | None]:
    """The model card (``metrics`` etc.), or why it could not be read; a card is optional."""
    if not card_path.exists():
        return None, None
    try:
        card = orjson.loads(read_regular(card_path, _MAX_CARD_BYTES, "model card"))
    except ArtifactError as e:
        return None, str(e)
    except orjson.JSONDecodeError as e:
        return None, f"unreadable model card: {e}"
    if not isinstance(card, dict):
        return None, "model card is not a JSON object"
    return card, None


# -- validation ---------------------------------------------------------------------------------


def _get(npz: dict[str, np.ndarray], key: str) -> np.ndarray:
    try:
        return npz[key]
    except KeyError:
        raise ArtifactError(f"missing key {key!r}") from None


def _str(npz: dict[str, np.ndarray], key: str) -> str:
    a = _get(npz, key)
    if a.dtype.kind != "U" or a.shape != ():
        raise ArtifactError(f"{key!r} must be a 0-d unicode string, got {a.dtype} {a.shape}")
    return str(a)


def _int(npz: dict[str, np.ndarray], key: str, ndim: int) -> np.ndarray:
    a = _get(npz, key)
    if a.dtype != np.int64 or a.ndim != ndim:
        raise ArtifactError(
            f"{key!r} must be int64 of {ndim} dimension(s), not {a.dtype} {a.shape}"
        )
    return a


def _float(npz: dict[str, np.ndarray], key: str, shape: tuple[int, ...], finite: bool = True):
    a = _get(npz, key)
    if a.dtype != np.float32:
        raise ArtifactError(f"{key!r} must be float32, got {a.dtype}")
    if a.shape != shape:
        raise ArtifactError(f"{key!r} must have shape {shape}, got {a.shape}")
    if finite and not np.isfinite(a).all():
        raise ArtifactError(f"{key!r} contains NaN or infinite values")
    return a


def _one_of(value: str, allowed: tuple[str, ...], what: str) -> str:
    if value not in allowed:
        raise ArtifactError(f"{what} {value!r} is not one of {', '.join(allowed)}")
    return value


def _validate(npz, path: Path, sha256: str, card, card_error) -> Artifact:
    format_version = int(_int(npz, "format_version", 0))
    if format_version != FORMAT_VERSION:
        raise ArtifactError(f"format_version {format_version} is not supported (expected 1)")
    name = _str(npz, "name")
    if name != path.stem:
        raise ArtifactError(f"name {name!r} does not match the file name {path.stem!r}")
    version = _str(npz, "version")
    if not VERSION_RE.match(version):
        raise ArtifactError(f"version {version!r} is not of the form YYYYMMDDTHHMMSSZ")
    task = _one_of(_str(npz, "task"), TASKS, "task")
    input_kind = _one_of(_str(npz, "input_kind"), INPUT_KINDS, "input_kind")
    sizes = _layer_sizes(npz)
    input_shape = _input_shape(npz, sizes[0])
    acts = _activations(npz, task, len(sizes) - 1)
    in_min = float(_float(npz, "input_min", (), finite=False))
    in_max = float(_float(npz, "input_max", (), finite=False))
    if np.isnan(in_min) or np.isnan(in_max) or not in_min < in_max:
        raise ArtifactError("input_min must be below input_max")
    if float(_float(npz, "input_scale", ())) == 0:
        raise ArtifactError("input_scale is 0")
    _float(npz, "input_mean", (sizes[0],))
    if not (_float(npz, "input_std", (sizes[0],)) > 0).all():
        raise ArtifactError("input_std must be > 0")
    for i in range(len(sizes) - 1):
        _float(npz, f"W_{i}", (sizes[i], sizes[i + 1]))
        _float(npz, f"b_{i}", (sizes[i + 1],))
    labels = _labels(npz, task, sizes[-1])
    if task == "regression":
        _float(npz, "output_mean", (sizes[-1],))
        if not (_float(npz, "output_std", (sizes[-1],)) > 0).all():
            raise ArtifactError("output_std must be > 0")
    unexpected = sorted(set(npz) - _expected_keys(task, len(sizes) - 1))
    if unexpected:
        raise ArtifactError(f"unexpected key(s) {', '.join(map(repr, unexpected))}")
    info = ModelInfo(
        name, version, task, input_kind, input_shape, in_min, in_max, sizes, acts, labels,
        sha256, str(path), card, card_error,
    )  # fmt: skip
    return Artifact(info, npz)


def _layer_sizes(npz) -> tuple[int, ...]:
    sizes = _int(npz, "layer_sizes", 1)
    if sizes.shape[0] < 2 or (sizes < 1).any():
        raise ArtifactError("layer_sizes must hold at least 2 positive widths")
    return tuple(int(s) for s in sizes)


def _input_shape(npz, d_in: int) -> tuple[int, ...]:
    shape = _int(npz, "input_shape", 1)
    if shape.shape[0] < 1 or (shape < 1).any():
        raise ArtifactError("input_shape must hold positive sizes")
    out = tuple(int(s) for s in shape)
    if int(np.prod(out)) != d_in:
        raise ArtifactError(f"input_shape {out} does not match layer_sizes[0] = {d_in}")
    return out


def _activations(npz, task: str, n_layers: int) -> tuple[str, ...]:
    arr = _get(npz, "activations")
    if arr.dtype.kind != "U" or arr.shape != (n_layers,):
        raise ArtifactError(f"activations must be a unicode array of shape ({n_layers},)")
    acts = tuple(str(a) for a in arr)
    for i, a in enumerate(acts[:-1]):
        _one_of(a, HIDDEN_ACTIVATIONS, f"activations[{i}]")
    if acts[-1] != OUTPUT_ACTIVATION[task]:
        raise ArtifactError(
            f"output activation {acts[-1]!r} does not fit task {task!r} "
            f"(expected {OUTPUT_ACTIVATION[task]!r})"
        )
    return acts


def _labels(npz, task: str, d_out: int) -> tuple[int, ...] | None:
    if task == "binary" and d_out != 1:
        raise ArtifactError(f"a binary model has one output unit, not {d_out}")
    if task == "multiclass" and d_out < 2:
        raise ArtifactError("a multiclass model needs at least 2 outputs")
    if task == "regression":
        return None
    n_classes = d_out if task == "multiclass" else 2
    lab = _int(npz, "labels", 1)
    if lab.shape != (n_classes,):
        raise ArtifactError(f"labels must have shape ({n_classes},), got {lab.shape}")
    if len(np.unique(lab)) != n_classes:
        raise ArtifactError("labels are not distinct")
    return tuple(int(v) for v in lab)


def _expected_keys(task: str, n_layers: int) -> set[str]:
    keys = {
        "format_version", "name", "version", "task", "input_kind", "input_shape", "input_min",
        "input_max", "input_scale", "input_mean", "input_std", "layer_sizes", "activations",
    }  # fmt: skip
    keys |= {f"W_{i}" for i in range(n_layers)} | {f"b_{i}" for i in range(n_layers)}
    if task == "regression":
        return keys | {"output_mean", "output_std"}
    return keys | {"labels"}
