"""Model files for the benchmarks: the shipped `models/NAME.npz`, or a random stand-in of a shape.

Stand-ins follow the `.npz` contract of the README exactly, so every server and engine loads them
like a shipped model; they exist so the bench can run (and be tested) before models are trained,
and so the engine benchmark can use the mnist-seed architecture whatever `mnist` turns out to be.
"""

import itertools
from pathlib import Path

import numpy as np

from bench.proc import REPO

MODELS = REPO / "models"
SEED_SIZES = (784, 256, 128, 64, 10)
LIGHT_SIZES = (784, 16, 16, 10)  # a model whose forward pass costs next to nothing (pairs)


def write_stand_in(
    path: Path, name: str, sizes: tuple[int, ...] = SEED_SIZES, hidden: str = "sigmoid"
) -> Path:
    """Write a multiclass image classifier with random weights of `sizes` to `path`."""
    rng = np.random.default_rng(0)
    arrays: dict[str, np.ndarray] = {
        "format_version": np.int64(1),
        "name": np.str_(name),
        "version": np.str_("19700101T000000Z"),
        "task": np.str_("multiclass"),
        "input_kind": np.str_("image"),
        "input_shape": np.array([28, 28], dtype=np.int64),
        "input_min": np.float32(0),
        "input_max": np.float32(255),
        "input_scale": np.float32(1 / 255),
        "input_mean": np.zeros(sizes[0], dtype=np.float32),
        "input_std": np.ones(sizes[0], dtype=np.float32),
        "layer_sizes": np.array(sizes, dtype=np.int64),
        "activations": np.array([hidden] * (len(sizes) - 2) + ["softmax"]),
        "labels": np.arange(sizes[-1], dtype=np.int64),
    }
    for i, (m, n) in enumerate(itertools.pairwise(sizes)):
        arrays[f"W_{i}"] = (rng.standard_normal((m, n)) / np.sqrt(m)).astype(np.float32)
        arrays[f"b_{i}"] = np.zeros(n, dtype=np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **arrays)
    return path


def shape_text(sizes: tuple[int, ...] = LIGHT_SIZES) -> str:
    """``(784, 16, 16, 10)`` -> ``"784-16-16-10"``, as the report names a model's shape."""
    return "-".join(map(str, sizes))


def model_path(name: str, work: Path) -> tuple[Path, bool]:
    """The shipped model `name`, else a stand-in written under `work`; and whether it is shipped."""
    shipped = MODELS / f"{name}.npz"
    if shipped.exists():
        return shipped, True
    return write_stand_in(work / "models" / f"{name}.npz", name), False


def describe(path: Path) -> dict:
    """Layer sizes, activations and version of a model file, for the report."""
    with np.load(path, allow_pickle=False) as z:
        return {
            "path": str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path),
            "layer_sizes": [int(v) for v in z["layer_sizes"]],
            "activations": [str(a) for a in z["activations"]],
            "version": str(z["version"]),
            "parameters": int(
                sum(z[f"W_{i}"].size + z[f"b_{i}"].size for i in range(len(z["activations"])))
            ),
        }
