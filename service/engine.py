"""Plain NumPy inference engine: load, validate and run the ``.npz`` models of the contract.

Nothing here knows about HTTP. :func:`load_model` validates one file against the format contract
(README, "The ``.npz`` model format") and returns a :class:`Model`; :class:`Engine` loads a whole
directory, keeps the reason why each broken file was refused, and answers readiness.

The forward pass is a deliberate copy of the few lines in ``training/`` (the service never imports
it); ``tests/test_contract.py`` guards the copy. Work that would be repeated per request is done
once at load time:

* the input preprocessing ``x' = (x * input_scale - input_mean) / input_std`` is folded into the
  first layer (``x' = x * a + c`` so ``W0' = a[:, None] * W0`` and ``b0' = b0 + c @ W0``);
* a hidden ``sigmoid`` is rewritten exactly as ``tanh``: ``sigmoid(z) = (1 + tanh(z / 2)) / 2``, so
  the layer's weights are halved and the ``(1 + t) / 2`` is folded into the next layer;
* a regression model's target de-standardisation ``y = y' * output_std + output_mean`` is folded
  into the last layer.

Folds are computed in float64 and stored as float32, one array per layer with the bias appended
to the weights, so that a batch-1 layer is one product ``[h, 1] @ [[W], [b]]`` (the layer inputs
live in per-thread buffers whose last element stays 1). Batches use views of the same array,
``X @ W + b``, without any copy.

Batch 1 is memory-bound: reading the weights costs more than the arithmetic, and the rest is a
fixed cost per NumPy call, so the hot path makes as few calls as it can. Where a layer's input has
exact zeros -- the raw input (an MNIST digit is ~18 % ink; after the fold a raw zero contributes
exactly nothing) and the output of a ``relu`` layer (~13 % non-zero after the shipped model's first
layer) -- and fewer than a quarter of its values are non-zero, only the weight rows of the non-zero
values are read: ``h[nz] @ W[nz]``, from an ``(in + 1, out)`` C-contiguous layout. (Gathering
copies the rows, so above about a quarter the dense product wins.) Other layers are stored
``(out, in + 1)`` C-contiguous, for a row-major matrix-vector product.

The softmax skips its max shift when a load-time bound on the logits over the whole input range
(interval arithmetic through the layers; a folded sigmoid or a tanh outputs within ±1) is at most
80: ``exp`` can then neither overflow nor underflow float32.
"""

from __future__ import annotations

import hashlib
import io
import re
import threading
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from .errors import ArtifactError, InvalidInputError, ModelUnavailableError, NotFoundError

FORMAT_VERSION = 1
TASKS = ("multiclass", "binary", "regression")
INPUT_KINDS = ("image", "features")
HIDDEN_ACTIVATIONS = ("relu", "sigmoid", "tanh", "leaky_relu")
OUTPUT_ACTIVATION = {"multiclass": "softmax", "binary": "sigmoid", "regression": "identity"}
LEAKY_SLOPE = np.float32(0.01)
SOFTMAX_UNSHIFTED_BOUND = 80.0  # exp(±80) and 1,000 times exp(80) are normal float32 values
VERSION_RE = re.compile(r"^\d{8}T\d{6}Z$")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
# Card keys quoted by /models/NAME (the card's other content stays in the file).
CARD_METRIC_KEYS = (
    "test_accuracy",
    "per_class_accuracy",
    "confusion_matrix",
    "test_mse",
    "test_mae",
    "noise_var",
)


# -- activations, in place on float32 arrays ---------------------------------------------------


def _relu(h: np.ndarray) -> None:
    np.maximum(h, 0, out=h)


def _leaky_relu(h: np.ndarray) -> None:
    # max(h, 0.01 h) == leaky_relu(h) for a slope below 1.
    np.maximum(h, h * LEAKY_SLOPE, out=h)


def _tanh(h: np.ndarray) -> None:
    np.tanh(h, out=h)


# Hidden sigmoid layers run as tanh after the load-time rewrite (module docstring).
_HIDDEN = {"relu": _relu, "leaky_relu": _leaky_relu, "tanh": _tanh, "sigmoid": _tanh}


# -- validation helpers -------------------------------------------------------------------------


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


def _float(
    npz: dict[str, np.ndarray], key: str, shape: tuple[int, ...], finite: bool = True
) -> np.ndarray:
    a = _get(npz, key)
    if a.dtype != np.float32:
        raise ArtifactError(f"{key!r} must be float32, got {a.dtype}")
    if a.shape != shape:
        raise ArtifactError(f"{key!r} must have shape {shape}, got {a.shape}")
    if finite and not np.isfinite(a).all():
        raise ArtifactError(f"{key!r} contains NaN or infinite values")
    return a


# -- the model ----------------------------------------------------------------------------------


@dataclass(eq=False)
class Model:
    """A validated model ready to predict. Build it with :func:`load_model`."""

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
    card: dict[str, Any] | None = None
    card_error: str | None = None
    # Folded float32 parameters of each layer (see _layout): dense[i] (out, in + 1), weights
    # with the bias as last column; rows[i] (in + 1, out) C-contiguous where layer i's input can
    # hold exact zeros, else None; W[i] (in, out) and b[i] (out,) for batches.
    dense: list[np.ndarray] = field(default_factory=list, repr=False)
    rows: list[np.ndarray | None] = field(default_factory=list, repr=False)
    W: list[np.ndarray] = field(default_factory=list, repr=False)
    b: list[np.ndarray] = field(default_factory=list, repr=False)
    _hidden: list = field(default_factory=list, repr=False)
    _bounded: bool = True
    _softmax_shift: bool = True
    _local: threading.local = field(default_factory=threading.local, repr=False)

    @property
    def input_size(self) -> int:
        return self.layer_sizes[0]

    @property
    def output_size(self) -> int:
        return self.layer_sizes[-1]

    # The hot path. -------------------------------------------------------------------------

    def _buffers(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        # Batch-1 work buffers, one set per thread (gunicorn sync workers have one thread): each
        # layer's input [h, 1], and a view of its first len(h) values to write h into.
        bufs = getattr(self._local, "bufs", None)
        if bufs is None:
            full = [np.ones(n + 1, np.float32) for n in self.layer_sizes]
            bufs = self._local.bufs = (full, [f[:-1] for f in full])
        return bufs

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Run the network on raw inputs.

        Parameters
        ----------
        x : float32 array, shape (n, input_size)
            Raw, flattened inputs (pixels 0-255 for an image model); preprocessing is folded in.

        Returns
        -------
        float32 array, shape (n, output_size)
            Softmax probabilities (multiclass), sigmoid probability of ``labels[1]`` (binary) or
            values in target units (regression). A fresh array the caller may keep.
        """
        if x.shape[0] == 1:
            return self._forward1(x[0]).reshape(1, -1).copy()
        hidden = self._hidden
        h = x
        last = len(self.W) - 1
        for i, (W, b) in enumerate(zip(self.W, self.b, strict=True)):
            h = h @ W  # (n, out): a fresh array, activated in place
            h += b
            if i < last:
                hidden[i](h)
        return self._output(h, axis=1)

    def _forward1(self, x: np.ndarray) -> np.ndarray:
        # (input_size,) -> (output_size,), in thread-local buffers: the result is overwritten by
        # the next batch-1 call on this thread.
        full, values = self._buffers()
        hidden = self._hidden
        last = len(self.dense) - 1
        np.copyto(values[0], x)
        for i in range(last + 1):
            h, o = full[i], values[i + 1]  # (in + 1,) ending in 1, (out,)
            rows = self.rows[i]
            if rows is not None:
                nz = h.nonzero()[0]  # always holds the bias's index, the last
                if len(nz) * 4 < len(h):  # measured: gathering pays below about a quarter
                    np.dot(h.take(nz), rows.take(nz, axis=0), out=o)
                else:
                    np.dot(self.dense[i], h, out=o)
            else:
                np.dot(self.dense[i], h, out=o)
            if i < last:
                hidden[i](o)
        return self._output(o, axis=None)

    def _output(self, h: np.ndarray, axis: int | None) -> np.ndarray:
        task = self.task
        if task == "multiclass":
            # Stable softmax, in place (module docstring: when the shift can be skipped).
            if self._softmax_shift:
                h -= h.max(axis=axis, keepdims=axis is not None)
            np.exp(h, out=h)
            h /= h.sum(axis=axis, keepdims=axis is not None)
        elif task == "binary":
            # sigmoid(z) = (1 + tanh(z / 2)) / 2: no overflow for any finite z.
            h *= 0.5
            np.tanh(h, out=h)
            h += 1.0
            h *= 0.5
        return h

    def predict(self, x: np.ndarray, field: str = "input") -> list[dict[str, Any]]:
        """Forward pass and formatting of one prediction per row (``label``/``value``).

        Raises :class:`InvalidInputError` if an (unbounded) input drives the output to
        infinity or NaN; bounded inputs such as pixels cannot.
        """
        if self._bounded:
            out = self.forward(x)
        else:
            with np.errstate(all="ignore"):
                out = self.forward(x)
        if not np.isfinite(out).all():
            bad = np.flatnonzero(~np.isfinite(out).all(axis=1))[:10].tolist()
            raise InvalidInputError(
                f"{field}: values too large, the model's output is not finite",
                {f"{field}.{i}": ["Values too large: the output overflows."] for i in bad},
            )
        return self.format(out)

    def format(self, out: np.ndarray) -> list[dict[str, Any]]:
        """Turn raw outputs (n, output_size) into the prediction list.

        Probabilities and values stay NumPy float32 (rows and scalars): ``orjson`` with
        ``OPT_SERIALIZE_NUMPY`` writes them directly, with float32's shortest round-trip digits.
        """
        task = self.task
        labels = self.labels
        if task == "multiclass":
            idx = out.argmax(axis=1).tolist()
            return [{"label": labels[k], "probabilities": out[i]} for i, k in enumerate(idx)]
        if task == "binary":
            p1 = out[:, 0]
            pos = (p1 >= 0.5).tolist()
            return [
                {"label": labels[1] if up else labels[0], "probability": p1[i]}
                for i, up in enumerate(pos)
            ]
        if self.output_size == 1:
            return [{"value": v} for v in out[:, 0]]
        return [{"value": row} for row in out]

    # Metadata. --------------------------------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "name": self.name,
            "version": self.version,
            "task": self.task,
            "input": {
                "kind": self.input_kind,
                "field": "images" if self.input_kind == "image" else "features",
                "shape": list(self.input_shape),
                "min": _json_float(self.input_min),
                "max": _json_float(self.input_max),
            },
            "layer_sizes": list(self.layer_sizes),
            "activations": list(self.activations),
            "sha256": self.sha256,
        }
        if self.labels is not None:
            d["labels"] = list(self.labels)
        d["metrics"] = self.metrics()
        if self.card_error:
            d["card_error"] = self.card_error
        return d

    def metrics(self) -> dict[str, Any] | None:
        """The test metrics of the model card ``NAME.json`` (its ``metrics`` object)."""
        metrics = (self.card or {}).get("metrics")
        if not isinstance(metrics, dict):
            return None
        return {k: metrics[k] for k in CARD_METRIC_KEYS if k in metrics} or None


def _json_float(v: float) -> float | None:
    # JSON has no infinities: an unbounded range is reported as null.
    return v if np.isfinite(v) else None


def _self_test(model: Model) -> None:
    """Predict on a fixed input, batch 1 and batch 3; refuse the model if anything is off."""
    lo, hi = model.input_min, model.input_max
    mid = (
        (lo + hi) / 2
        if np.isfinite(lo) and np.isfinite(hi)
        else (lo + 1 if np.isfinite(lo) else (hi - 1 if np.isfinite(hi) else 0.0))
    )
    x = np.full((3, model.input_size), mid, np.float32)
    if np.isfinite(lo):
        x[1] = lo
    if np.isfinite(hi):
        x[2] = hi
    batch = model.forward(x)
    single = model.forward(x[:1])
    if batch.shape != (3, model.output_size) or not np.isfinite(batch).all():
        raise ArtifactError("self-test prediction is not finite")
    if not np.allclose(single, batch[:1], rtol=1e-4, atol=1e-5):
        raise ArtifactError("self-test: batch-1 and batched outputs disagree")
    if model.task == "multiclass" and not np.allclose(batch.sum(axis=1), 1, atol=1e-4):
        raise ArtifactError("self-test: probabilities do not sum to 1")
    if model.task == "binary" and not ((batch >= 0) & (batch <= 1)).all():
        raise ArtifactError("self-test: probability outside [0, 1]")
    preds = model.format(batch)
    if len(preds) != 3:
        raise ArtifactError("self-test: wrong number of predictions")


def load_model(path: str | Path) -> Model:
    """Load and validate one ``.npz`` file; fold preprocessing; self-test.

    Raises
    ------
    ArtifactError
        With a one-line reason when the file is unreadable, pickled, corrupt or breaks the
        contract. Nothing in the file is ever executed (``allow_pickle=False``).
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise ArtifactError(f"cannot read file: {e.strerror or e}") from None
    sha256 = hashlib.sha256(raw).hexdigest()
    try:
        f = np.load(io.BytesIO(raw), allow_pickle=False)
        if not isinstance(f, np.lib.npyio.NpzFile):
            raise ArtifactError("not an .npz archive (a single .npy array)")
        with f:
            npz = {k: f[k] for k in f.files}
    except ArtifactError:
        raise
    except ValueError as e:
        if "allow_pickle" in str(e) or "pickle" in str(e).lower():
            raise ArtifactError("refused: contains pickled data (allow_pickle=False)") from None
        raise ArtifactError(f"corrupt archive: {e}") from None
    except (zipfile.BadZipFile, OSError, EOFError, KeyError) as e:
        raise ArtifactError(f"corrupt archive: {type(e).__name__}: {e}") from None
    model = _build(npz, path, sha256)
    _load_card(model, path.with_suffix(".json"))
    try:
        _self_test(model)
    except FloatingPointError as e:
        raise ArtifactError(f"self-test failed: {e}") from None
    return model


def _build(npz: dict[str, np.ndarray], path: Path, sha256: str) -> Model:
    version_arr = _int(npz, "format_version", 0)
    if int(version_arr) != FORMAT_VERSION:
        raise ArtifactError(f"format_version {int(version_arr)} is not supported (expected 1)")
    name = _str(npz, "name")
    if name != path.stem:
        raise ArtifactError(f"name {name!r} does not match the file name {path.stem!r}")
    version = _str(npz, "version")
    if not VERSION_RE.match(version):
        raise ArtifactError(f"version {version!r} is not of the form YYYYMMDDTHHMMSSZ")
    task = _str(npz, "task")
    if task not in TASKS:
        raise ArtifactError(f"task {task!r} is not one of {', '.join(TASKS)}")
    input_kind = _str(npz, "input_kind")
    if input_kind not in INPUT_KINDS:
        raise ArtifactError(f"input_kind {input_kind!r} is not one of {', '.join(INPUT_KINDS)}")

    sizes_arr = _int(npz, "layer_sizes", 1)
    if sizes_arr.shape[0] < 2 or (sizes_arr < 1).any():
        raise ArtifactError("layer_sizes must hold at least 2 positive widths")
    sizes = tuple(int(s) for s in sizes_arr)
    n_layers = len(sizes) - 1
    d_in, d_out = sizes[0], sizes[-1]

    shape_arr = _int(npz, "input_shape", 1)
    if shape_arr.shape[0] < 1 or (shape_arr < 1).any():
        raise ArtifactError("input_shape must hold positive sizes")
    input_shape = tuple(int(s) for s in shape_arr)
    if int(np.prod(input_shape)) != d_in:
        raise ArtifactError(f"input_shape {input_shape} does not match layer_sizes[0] = {d_in}")

    acts_arr = _get(npz, "activations")
    if acts_arr.dtype.kind != "U" or acts_arr.shape != (n_layers,):
        raise ArtifactError(f"activations must be a unicode array of shape ({n_layers},)")
    acts = tuple(str(a) for a in acts_arr)
    for i, a in enumerate(acts[:-1]):
        if a not in HIDDEN_ACTIVATIONS:
            raise ArtifactError(
                f"activations[{i}] {a!r} is not one of {', '.join(HIDDEN_ACTIVATIONS)}"
            )
    if acts[-1] != OUTPUT_ACTIVATION[task]:
        raise ArtifactError(
            f"output activation {acts[-1]!r} does not fit task {task!r} "
            f"(expected {OUTPUT_ACTIVATION[task]!r})"
        )
    if task == "binary" and d_out != 1:
        raise ArtifactError(f"a binary model has one output unit, not {d_out}")
    if task == "multiclass" and d_out < 2:
        raise ArtifactError("a multiclass model needs at least 2 outputs")

    in_min = float(_float(npz, "input_min", (), finite=False))
    in_max = float(_float(npz, "input_max", (), finite=False))
    if np.isnan(in_min) or np.isnan(in_max) or not in_min < in_max:
        raise ArtifactError("input_min must be below input_max")
    scale = float(_float(npz, "input_scale", ()))
    if scale == 0:
        raise ArtifactError("input_scale is 0")
    mean = _float(npz, "input_mean", (d_in,))
    std = _float(npz, "input_std", (d_in,))
    if not (std > 0).all():
        raise ArtifactError("input_std must be > 0")

    W = []
    b = []
    for i in range(n_layers):
        W.append(_float(npz, f"W_{i}", (sizes[i], sizes[i + 1])))
        b.append(_float(npz, f"b_{i}", (sizes[i + 1],)))

    expected = {
        "format_version",
        "name",
        "version",
        "task",
        "input_kind",
        "input_shape",
        "input_min",
        "input_max",
        "input_scale",
        "input_mean",
        "input_std",
        "layer_sizes",
        "activations",
        *(f"W_{i}" for i in range(n_layers)),
        *(f"b_{i}" for i in range(n_layers)),
    }
    labels: tuple[int, ...] | None = None
    if task in ("multiclass", "binary"):
        expected.add("labels")
        n_classes = d_out if task == "multiclass" else 2
        lab = _int(npz, "labels", 1)
        if lab.shape != (n_classes,):
            raise ArtifactError(f"labels must have shape ({n_classes},), got {lab.shape}")
        if len(np.unique(lab)) != n_classes:
            raise ArtifactError("labels are not distinct")
        labels = tuple(int(v) for v in lab)
    out_mean = out_std = None
    if task == "regression":
        expected |= {"output_mean", "output_std"}
        out_mean = _float(npz, "output_mean", (d_out,))
        out_std = _float(npz, "output_std", (d_out,))
        if not (out_std > 0).all():
            raise ArtifactError("output_std must be > 0")
    unexpected = sorted(set(npz) - expected)
    if unexpected:
        raise ArtifactError(f"unexpected key(s) {', '.join(map(repr, unexpected))}")

    W64, b64 = _fold(W, b, acts, scale, mean, std, out_mean, out_std)
    dense, rows, Wf, bf = _layout(W64, b64, acts)
    bounded = bool(np.isfinite(in_min) and np.isfinite(in_max))
    exp_safe = (
        bounded
        and d_out <= 1000
        and _logit_bound(W64, b64, acts, max(abs(in_min), abs(in_max))) <= SOFTMAX_UNSHIFTED_BOUND
    )
    model = Model(
        name=name,
        version=version,
        task=task,
        input_kind=input_kind,
        input_shape=input_shape,
        input_min=in_min,
        input_max=in_max,
        layer_sizes=sizes,
        activations=acts,
        labels=labels,
        sha256=sha256,
        path=str(path),
        dense=dense,
        rows=rows,
        W=Wf,
        b=bf,
        _hidden=[_HIDDEN[a] for a in acts[:-1]],
        _bounded=bounded,
        _softmax_shift=not exp_safe,
    )
    return model


def _fold(W, b, acts, scale, mean, std, out_mean, out_std):
    """Fold preprocessing, hidden sigmoids and output de-standardisation into the parameters."""
    W64 = [w.astype(np.float64) for w in W]
    b64 = [v.astype(np.float64) for v in b]
    # x' = (x * scale - mean) / std = x * a + c
    a = scale / std.astype(np.float64)
    c = -mean.astype(np.float64) / std.astype(np.float64)
    b64[0] = b64[0] + c @ W64[0]
    W64[0] = a[:, None] * W64[0]
    # sigmoid(z) = 0.5 + 0.5 tanh(z / 2): halve layer i, then feed 0.5 + 0.5 t into layer i + 1.
    for i, act in enumerate(acts[:-1]):
        if act == "sigmoid":
            W64[i] *= 0.5
            b64[i] *= 0.5
            b64[i + 1] = b64[i + 1] + 0.5 * W64[i + 1].sum(axis=0)
            W64[i + 1] = 0.5 * W64[i + 1]
    if out_mean is not None:
        s = out_std.astype(np.float64)
        W64[-1] = W64[-1] * s[None, :]
        b64[-1] = b64[-1] * s + out_mean.astype(np.float64)
    return W64, b64


def _layout(W64, b64, acts):
    """Store each folded layer as one float32 array with the bias appended (module docstring).

    Returns ``dense`` (out, in + 1), ``rows`` (in + 1, out) or None, and the batch path's views
    ``W`` (in, out) and contiguous ``b`` (out,), per layer.
    """
    dense, rows, W, b = [], [], [], []
    for i, (w, v) in enumerate(zip(W64, b64, strict=True)):
        stacked = np.vstack([w, v[None, :]]).astype(np.float32)  # (in + 1, out)
        if not np.isfinite(stacked).all():
            raise ArtifactError("folding the preprocessing overflows float32")
        zeros_in = i == 0 or acts[i - 1] == "relu"  # the raw input, or a relu's output
        rows.append(np.ascontiguousarray(stacked) if zeros_in else None)
        dense.append(rows[-1].T if zeros_in else np.ascontiguousarray(stacked.T))
        W.append(dense[-1][:, :-1].T)
        b.append(np.ascontiguousarray(stacked[-1]))
    return dense, rows, W, b


def _logit_bound(W64, b64, acts, input_bound: float) -> float:
    """Largest ``|logit|`` any input within ``±input_bound`` can produce (interval arithmetic)."""
    r = np.full(W64[0].shape[0], input_bound)  # bound on |h| per unit
    for i, (w, v) in enumerate(zip(W64, b64, strict=True)):
        r = np.abs(v) + r @ np.abs(w)  # |h W + b| <= |h| |W| + |b|
        if i < len(acts) - 1 and acts[i] in ("sigmoid", "tanh"):  # a folded sigmoid is a tanh
            r = np.minimum(r, 1.0)
    return float(r.max())


def _load_card(model: Model, card_path: Path) -> None:
    if not card_path.is_file():
        return
    try:
        card = orjson.loads(card_path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as e:
        model.card_error = f"unreadable model card: {e}"
        return
    if isinstance(card, dict):
        model.card = card
    else:
        model.card_error = "model card is not a JSON object"


# -- the engine ---------------------------------------------------------------------------------


class Engine:
    """Every model of a directory, loaded once.

    ``models`` holds the loaded ones by name; ``failures`` maps the name of each refused file to
    its reason. The engine is ready when at least one file was found and none was refused.
    """

    def __init__(self, models: dict[str, Model], failures: dict[str, str], model_dir: str = ""):
        self.models = models
        self.failures = failures
        self.model_dir = model_dir

    @classmethod
    def from_dir(cls, model_dir: str | Path, required: tuple[str, ...] = ()) -> Engine:
        """Load every ``*.npz`` of ``model_dir``; a name in ``required`` without a file is a
        failure too (``missing``)."""
        model_dir = Path(model_dir)
        models: dict[str, Model] = {}
        failures: dict[str, str] = {}
        if not model_dir.is_dir():
            failures["*"] = f"model directory {str(model_dir)!r} does not exist"
            return cls(models, failures, str(model_dir))
        for path in sorted(model_dir.glob("*.npz")):
            name = path.stem
            try:
                models[name] = load_model(path)
            except ArtifactError as e:
                failures[name] = str(e)
            except Exception as e:  # never let one bad file take the process down
                failures[name] = f"unexpected error while loading: {type(e).__name__}: {e}"
        for name in required:
            if name not in models and name not in failures:
                failures[name] = f"missing: no {name}.npz in {str(model_dir)!r}"
        if not models and not failures:
            failures["*"] = f"no *.npz model in {str(model_dir)!r}"
        return cls(models, failures, str(model_dir))

    @property
    def ready(self) -> bool:
        return bool(self.models) and not self.failures

    def get(self, name: str) -> Model:
        model = self.models.get(name)
        if model is not None:
            return model
        if name in self.failures:
            raise ModelUnavailableError(
                f"model {name!r} is not available", {"model": [self.failures[name]]}
            )
        raise NotFoundError(
            f"unknown model {name!r}",
            {"model": [f"Known models: {', '.join(sorted(self.models)) or 'none'}."]},
        )

    def status(self) -> dict[str, Any]:
        return {
            "ready": self.ready,
            "models": {
                **{n: {"status": "ready", "version": m.version} for n, m in self.models.items()},
                **{n: {"status": "failed", "reason": r} for n, r in self.failures.items()},
            },
        }
