"""The compiled forward pass of one model: folds, memory layout, forward, self-test.

:func:`compile_model` turns a validated :class:`~service.artifact.Artifact` into a :class:`Model`
that maps float32 input arrays to float32 output arrays; :func:`load_model` reads and compiles a
path. Nothing here knows about HTTP, request fields or how a prediction is written: the engine
returns arrays, and each protocol formats them.

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
to the weights, ``(out, in + 1)`` C-contiguous: a batch-1 layer is then one matrix-vector product
``[[W.T, b]] @ [h, 1]`` into per-thread buffers whose last element stays 1, instead of a product
and an add. Measured in one process (25 alternated rounds of 1,000 one-image calls, one BLAS
thread): ``mnist-seed`` (784-256-128-64-10) 55 µs against 63 µs with ``h @ W + b`` per layer,
``mnist`` 93-97 against 98-100 µs; against a one-image ``/predict``'s 500 µs or more of server
CPU that is 1-2 %, kept because batch 1 is what the engine benchmark (``make bench``) compares
with PyTorch. Batches use views of the same array, ``X @ W + b``, without a copy. Two tricks were
re-measured the same way and dropped, their gain invisible at the HTTP level: reading only the
weight rows of non-zero inputs, and a softmax without its max shift (together 1.4-3.7 µs).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .artifact import Artifact, Limits, ModelInfo, read_artifact
from .errors import ArtifactError

LEAKY_SLOPE = np.float32(0.01)


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


# -- the model ----------------------------------------------------------------------------------


@dataclass(eq=False)
class Model:
    """A compiled model ready to run. Build it with :func:`compile_model` or :func:`load_model`.

    ``info`` is what the file says of itself (name, version, task, shapes, labels, card); the
    file's raw arrays are not kept once folded.
    """

    info: ModelInfo
    task: str  # info.task, read on the hot path
    # Folded float32 parameters of each layer (see _layout): dense[i] (out, in + 1), weights
    # with the bias as last column; W[i] (in, out), a view of it, and b[i] (out,) for batches.
    dense: list[np.ndarray] = field(default_factory=list, repr=False)
    W: list[np.ndarray] = field(default_factory=list, repr=False)
    b: list[np.ndarray] = field(default_factory=list, repr=False)
    _hidden: list = field(default_factory=list, repr=False)
    bounded: bool = True  # the input range is finite, so no input can overflow the output
    _local: threading.local = field(default_factory=threading.local, repr=False)

    @property
    def input_size(self) -> int:
        return self.info.layer_sizes[0]

    @property
    def output_size(self) -> int:
        return self.info.layer_sizes[-1]

    # The hot path. -------------------------------------------------------------------------

    def _buffers(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        # Batch-1 work buffers, one set per thread (gunicorn sync workers have one thread): each
        # layer's input [h, 1], and a view of its first len(h) values to write h into.
        bufs = getattr(self._local, "bufs", None)
        if bufs is None:
            full = [np.ones(n + 1, np.float32) for n in self.info.layer_sizes]
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
        for i, dense in enumerate(self.dense):
            o = values[i + 1]  # (out,), the first values of the next layer's (out + 1,) input
            np.dot(dense, full[i], out=o)  # (out, in + 1) @ (in + 1,) ending in 1
            if i < last:
                hidden[i](o)
        return self._output(o, axis=None)

    def _output(self, h: np.ndarray, axis: int | None) -> np.ndarray:
        task = self.task
        if task == "multiclass":
            # Stable softmax, in place.
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


def _self_test(model: Model) -> None:
    """Run a fixed input at batch 1 and batch 3; refuse the model if anything is off."""
    lo, hi = model.info.input_min, model.info.input_max
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
    try:
        batch = model.forward(x)
        single = model.forward(x[:1])
    except FloatingPointError as e:
        raise ArtifactError(f"self-test failed: {e}") from None
    if batch.shape != (3, model.output_size) or not np.isfinite(batch).all():
        raise ArtifactError("self-test prediction is not finite")
    if not np.allclose(single, batch[:1], rtol=1e-4, atol=1e-5):
        raise ArtifactError("self-test: batch-1 and batched outputs disagree")
    if model.task == "multiclass" and not np.allclose(batch.sum(axis=1), 1, atol=1e-4):
        raise ArtifactError("self-test: probabilities do not sum to 1")
    if model.task == "binary" and not ((batch >= 0) & (batch <= 1)).all():
        raise ArtifactError("self-test: probability outside [0, 1]")


def load_model(path: str | Path, limits: Limits = Limits()) -> Model:  # noqa: B008
    """Read, validate, compile and self-test one ``.npz`` file.

    Raises
    ------
    ArtifactError
        With a one-line reason when the file is refused (see :mod:`service.artifact`).
    """
    return compile_model(read_artifact(path, limits))


def compile_model(artifact: Artifact) -> Model:
    """Fold the preprocessing into the weights, lay them out for the hot path, self-test."""
    a, art = artifact.arrays, artifact.info
    n_layers = len(art.layer_sizes) - 1
    W = [a[f"W_{i}"] for i in range(n_layers)]
    b = [a[f"b_{i}"] for i in range(n_layers)]
    out = (a["output_mean"], a["output_std"]) if art.task == "regression" else (None, None)
    W64, b64 = _fold(W, b, art.activations, float(a["input_scale"]), a["input_mean"],
                     a["input_std"], *out)  # fmt: skip
    dense, Wf, bf = _layout(W64, b64)
    model = Model(
        info=art,
        task=art.task,
        dense=dense,
        W=Wf,
        b=bf,
        _hidden=[_HIDDEN[act] for act in art.activations[:-1]],
        bounded=bool(np.isfinite(art.input_min) and np.isfinite(art.input_max)),
    )
    _self_test(model)
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


def _layout(W64, b64):
    """Store each folded layer as one float32 array with the bias appended (module docstring).

    Returns per layer ``dense`` (out, in + 1), and the batch path's view ``W`` (in, out) of it
    and contiguous ``b`` (out,).
    """
    dense, W, b = [], [], []
    for w, v in zip(W64, b64, strict=True):
        stacked = np.ascontiguousarray(np.hstack([w.T, v[:, None]]).astype(np.float32))
        if not np.isfinite(stacked).all():
            raise ArtifactError("folding the preprocessing overflows float32")
        dense.append(stacked)  # (out, in + 1)
        W.append(stacked[:, :-1].T)
        b.append(np.ascontiguousarray(stacked[:, -1]))
    return dense, W, b
