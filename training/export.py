"""The ``.npz`` artifact (format version 1, see the README's contract) and the model card.

:func:`export` writes every key the contract lists, float arrays as float32, atomically (temporary
file in the same folder, then ``os.replace``), so a reader never sees half a file. :func:`load`
reads one back with ``allow_pickle=False`` into the same :class:`Artifact`.
"""

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from training.losses import OUTPUT_TASKS
from training.model import MLP
from training.preprocessing import Preprocessing

FORMAT_VERSION = 1


@dataclass
class Artifact:
    """A trained network plus everything needed to apply it to raw inputs.

    Attributes
    ----------
    name : str
        Model name, the file stem (``mnist``).
    version : str
        UTC training time ``YYYYMMDDTHHMMSSZ``.
    model : MLP
    preprocessing : Preprocessing
    input_kind : str
        ``image`` or ``features``.
    input_shape : tuple of int
        Shape of one raw input, e.g. (28, 28).
    input_range : (float, float)
        Valid raw values; ``(-inf, inf)`` when unbounded.
    labels : ndarray of int64 or None
        Class label of each output (classifiers only).
    """

    name: str
    version: str
    model: MLP
    preprocessing: Preprocessing
    input_kind: str
    input_shape: tuple[int, ...]
    input_range: tuple[float, float]
    labels: np.ndarray | None

    @property
    def task(self) -> str:
        """``multiclass``, ``binary`` or ``regression``, from the output activation."""
        return OUTPUT_TASKS[self.model.activations[-1]]

    def output(self, X_raw: np.ndarray) -> np.ndarray:
        """What the service returns for raw inputs: preprocess, forward, de-normalise.

        Parameters
        ----------
        X_raw : ndarray of shape (n, *input_shape) or (n, layer_sizes[0])
            Raw pixels (0-255) or raw features.

        Returns
        -------
        ndarray of shape (n, layer_sizes[-1]), float32
            Class probabilities, the positive-class probability, or predictions in target units.
        """
        out = self.model.forward(self.preprocessing.inputs(X_raw))
        if self.task == "regression":
            return self.preprocessing.untargets(out).astype(np.float32)
        return out

    def arrays(self) -> dict[str, np.ndarray]:
        """The ``.npz`` content, key by key as in the README's format table."""
        m, p = self.model, self.preprocessing
        arrays = {
            "format_version": np.array(FORMAT_VERSION, np.int64),
            "name": np.array(self.name),
            "version": np.array(self.version),
            "task": np.array(self.task),
            "input_kind": np.array(self.input_kind),
            "input_shape": np.array(self.input_shape, np.int64),
            "input_min": np.array(self.input_range[0], np.float32),
            "input_max": np.array(self.input_range[1], np.float32),
            "input_scale": np.array(p.input_scale, np.float32),
            "input_mean": np.asarray(p.input_mean, np.float32),
            "input_std": np.asarray(p.input_std, np.float32),
            "layer_sizes": np.array(m.layer_sizes, np.int64),
            "activations": np.array(m.activations),
        }
        for i, (W, b) in enumerate(zip(m.W, m.b, strict=True)):
            arrays[f"W_{i}"] = np.asarray(W, np.float32)
            arrays[f"b_{i}"] = np.asarray(b, np.float32)
        if self.task != "regression":
            assert self.labels is not None
            arrays["labels"] = np.asarray(self.labels, np.int64)
        else:
            arrays["output_mean"] = np.asarray(p.output_mean, np.float32)
            arrays["output_std"] = np.asarray(p.output_std, np.float32)
        return arrays


def _check(arrays: dict[str, np.ndarray]) -> None:
    """Refuse to write an artifact the service would reject."""
    sizes = arrays["layer_sizes"]
    if int(np.prod(arrays["input_shape"])) != sizes[0]:
        raise ValueError("prod(input_shape) must equal layer_sizes[0]")
    if np.any(arrays["input_std"] <= 0):
        raise ValueError("input_std must be > 0")
    for key, value in arrays.items():
        bounded = key not in ("input_min", "input_max")
        if value.dtype == np.float32 and bounded and not np.all(np.isfinite(value)):
            raise ValueError(f"{key} has non-finite values")


def atomic_write(path: Path, write: Callable) -> None:
    """Call ``write(file)`` on a temporary file beside ``path``, then rename it to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def export(artifact: Artifact, path: str | Path) -> str:
    """Write ``artifact`` to ``path`` (``models/NAME.npz``) atomically.

    Parameters
    ----------
    artifact : Artifact
    path : str or Path

    Returns
    -------
    str
        The sha256 of the written file.
    """
    path = Path(path)
    arrays = artifact.arrays()
    _check(arrays)
    atomic_write(path, lambda f: np.savez(f, **arrays))
    return sha256_file(path)


def load(path: str | Path) -> Artifact:
    """Read an artifact written by :func:`export` (``allow_pickle=False``).

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    Artifact
    """
    with np.load(path, allow_pickle=False) as f:
        if int(f["format_version"]) != FORMAT_VERSION:
            raise ValueError(f"{path}: unsupported format_version {int(f['format_version'])}")
        n_layers = len(f["activations"])
        model = MLP(
            f["layer_sizes"].tolist(),
            [str(a) for a in f["activations"]],
            [f[f"W_{i}"] for i in range(n_layers)],
            [f[f"b_{i}"] for i in range(n_layers)],
        )
        regression = str(f["task"]) == "regression"
        prep = Preprocessing(
            float(f["input_scale"]),
            f["input_mean"],
            f["input_std"],
            f["output_mean"] if regression else None,
            f["output_std"] if regression else None,
        )
        return Artifact(
            name=str(f["name"]),
            version=str(f["version"]),
            model=model,
            preprocessing=prep,
            input_kind=str(f["input_kind"]),
            input_shape=tuple(f["input_shape"].tolist()),
            input_range=(float(f["input_min"]), float(f["input_max"])),
            labels=None if regression else f["labels"],
        )


def write_card(path: str | Path, card: dict) -> None:
    """Write the model card ``models/NAME.json`` atomically."""
    text = json.dumps(card, indent=2, allow_nan=False) + "\n"
    atomic_write(Path(path), lambda f: f.write(text.encode()))
