"""Datasets by name: MNIST, the synthetic 1-D regression set, two moons, 8x8 digits.

Every loader returns raw (unpreprocessed) inputs split into train / validation / test. The
validation rows come out of the training set; the test rows are only used for the final report.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from training.config import TrainConfig
from training.mnist import load_mnist

# The synthetic regression set: y = sin(2x) + 0.3 x + N(0, sigma^2), x ~ U(-3, 3).
REGRESSION = {
    "function": "sin(2x) + 0.3x",
    "x_range": (-3.0, 3.0),
    "noise_sigma": 0.2,
    "n_train": 1000,  # the validation share comes out of these
    "n_test": 2000,  # large, so the test MSE estimates the noise floor within ~3 %
    "seed": 2024,
}
MOONS = {"n_samples": 3000, "noise": 0.2, "seed": 0, "test_fraction": 0.2}


def regression_truth(x: np.ndarray) -> np.ndarray:
    """The noiseless function of the synthetic regression set."""
    return np.sin(2 * x) + 0.3 * x


@dataclass
class Dataset:
    """Raw inputs (n, d) and targets: int labels (n,) or float targets (n, k), per split."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    input_kind: str  # "image" or "features"
    input_shape: tuple[int, ...]  # shape of one raw input
    input_range: tuple[float, float]  # valid raw values
    labels: np.ndarray | None  # class label of each output (classifiers)
    provenance: dict = field(default_factory=dict)  # goes into the model card


def _split_off_validation(
    X: np.ndarray, y: np.ndarray, config: TrainConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Shuffle with the run's seed, hold out ``val_fraction``, keep ``train_limit`` rows.

    With ``val_fraction`` 0 the training set is kept whole and in its original order (the
    reference's shuffles index it), and the validation split is empty.
    """
    if not config.val_fraction:
        order = np.arange(len(X))
        val, train = order[:0], order
    else:
        order = np.random.default_rng(config.seed).permutation(len(X))
        n_val = max(1, round(len(X) * config.val_fraction))
        val, train = order[:n_val], order[n_val:]
    if config.train_limit:
        train = train[: config.train_limit]
    return X[train], y[train], X[val], y[val]


def mnist(config: TrainConfig) -> Dataset:
    """MNIST digits, 28x28 uint8 pixels; see :mod:`training.mnist` for sources and checks."""
    data = load_mnist()
    X_train, y_train, X_val, y_val = _split_off_validation(data.x_train, data.y_train, config)
    return Dataset(
        X_train,
        y_train.astype(np.int64),
        X_val,
        y_val.astype(np.int64),
        data.x_test,
        data.y_test.astype(np.int64),
        input_kind="image",
        input_shape=(28, 28),
        input_range=(0.0, 255.0),
        labels=np.arange(10),
        provenance={
            "dataset": "MNIST",
            "source": data.source,
            "cache": data.cache_path,
            "sha256": data.sha256,
            "sha256_of": "bytes of x_train, y_train, x_test, y_test (uint8, C order)",
            "n_train": len(X_train),
            "n_val": len(X_val),
            "n_test": len(data.x_test),
        },
    )


def regression(config: TrainConfig) -> Dataset:
    """The synthetic 1-D set of :data:`REGRESSION` (its own fixed seed, not the run's)."""
    spec = REGRESSION
    rng = np.random.default_rng(spec["seed"])
    n = spec["n_train"] + spec["n_test"]
    x = rng.uniform(*spec["x_range"], size=(n, 1))
    y = regression_truth(x) + rng.normal(0.0, spec["noise_sigma"], size=(n, 1))
    X_train, y_train, X_val, y_val = _split_off_validation(
        x[: spec["n_train"]], y[: spec["n_train"]], config
    )
    return Dataset(
        X_train,
        y_train,
        X_val,
        y_val,
        x[spec["n_train"] :],
        y[spec["n_train"] :],
        input_kind="features",
        input_shape=(1,),
        input_range=(-np.inf, np.inf),
        labels=None,
        provenance={
            "dataset": "synthetic 1-D regression",
            **{k: list(v) if isinstance(v, tuple) else v for k, v in spec.items()},
            "noise_var": round(spec["noise_sigma"] ** 2, 12),
            "n_train": len(X_train),
            "n_val": len(X_val),
            "n_test": spec["n_test"],
        },
    )


def moons(config: TrainConfig) -> Dataset:
    """scikit-learn's two interleaving half circles, 2 features, labels 0/1."""
    from sklearn.datasets import make_moons

    spec = MOONS
    X, y = make_moons(n_samples=spec["n_samples"], noise=spec["noise"], random_state=spec["seed"])
    n_test = round(len(X) * spec["test_fraction"])
    X_train, y_train, X_val, y_val = _split_off_validation(X[n_test:], y[n_test:], config)
    return Dataset(
        X_train,
        y_train,
        X_val,
        y_val,
        X[:n_test],
        y[:n_test],
        input_kind="features",
        input_shape=(2,),
        input_range=(-np.inf, np.inf),
        labels=np.array([0, 1]),
        provenance={"dataset": "sklearn.datasets.make_moons", **spec, "n_test": n_test},
    )


def digits(config: TrainConfig) -> Dataset:
    """scikit-learn's 1,797 8x8 digits (pixels 0-16): a tiny image set for tests."""
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = X.astype(np.uint8)
    n_test = 297
    X_train, y_train, X_val, y_val = _split_off_validation(X[n_test:], y[n_test:], config)
    return Dataset(
        X_train,
        y_train,
        X_val,
        y_val,
        X[:n_test],
        y[:n_test],
        input_kind="image",
        input_shape=(8, 8),
        input_range=(0.0, 16.0),
        labels=np.arange(10),
        provenance={"dataset": "sklearn.datasets.load_digits", "n_test": n_test},
    )


LOADERS: dict[str, Callable[[TrainConfig], Dataset]] = {
    "mnist": mnist,
    "regression": regression,
    "moons": moons,
    "digits": digits,
}
