"""The ``mnist-seed`` preset follows the reference run's random stream, bit for bit.

The reference ("Neural Nets from Scratch") is written out again here, independently of
``training/``, as it is usually written: ``np.random.seed(42)`` on the legacy global generator,
``np.random.randn(fan_in, fan_out)`` per layer, zero biases, one ``np.random.permutation(n)``
per epoch, minibatches of 64 in that order, pixels / 255, sigmoid hidden layers, softmax +
cross-entropy with delta ``(p - t) / n``, plain SGD ``W -= lr * dW``. On a subset of 672 images
(ten batches of 64 and a last one of 32, as the full set's 60,000 ends in one of 32) our trainer
in float64 must end with exactly the same weights after two epochs.

Exactness holds because every rounding is the same: the trainer's fused step scales the output
delta by ``-lr / n``, which for lr 0.5 and n = 64 or 32 is a power of two, and multiplying by a
power of two commutes with rounding.
"""

import itertools

import numpy as np
import pytest

import training
from training.mnist import DataError, load_mnist

SIZES = [784, 256, 128, 64, 10]
N_TRAIN = 672
EPOCHS = 2


def _sigmoid(z: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-z))


def _reference(x: np.ndarray, labels: np.ndarray) -> tuple[list, list]:
    """The reference run on uint8 images ``x`` (n, 784): its weights and biases at the end."""
    state = np.random.get_state()
    try:
        np.random.seed(42)
        weights = [np.random.randn(m, n) for m, n in itertools.pairwise(SIZES)]
        biases = [np.zeros(n) for n in SIZES[1:]]
        X, Y = x / 255.0, np.eye(10)[labels]
        for _ in range(EPOCHS):
            order = np.random.permutation(len(X))
            for start in range(0, len(X), 64):
                rows = order[start : start + 64]
                hs = [X[rows]]
                for i, (W, b) in enumerate(zip(weights, biases, strict=True)):
                    a = hs[-1] @ W + b
                    if i < len(weights) - 1:
                        hs.append(_sigmoid(a))
                    else:
                        e = np.exp(a - a.max(axis=1, keepdims=True))
                        hs.append(e / e.sum(axis=1, keepdims=True))
                delta = (hs[-1] - Y[rows]) / len(rows)
                for i in reversed(range(len(weights))):
                    dW, db = hs[i].T @ delta, delta.sum(axis=0)
                    if i:
                        delta = (delta @ weights[i].T) * (hs[i] * (1 - hs[i]))
                    weights[i] -= 0.5 * dW
                    biases[i] -= 0.5 * db
        return weights, biases
    finally:
        np.random.set_state(state)


def test_mnist_seed_follows_the_reference_stream_bit_for_bit(tmp_path) -> None:
    try:
        data = load_mnist(allow_download=False)
    except DataError:
        pytest.skip("MNIST is not available offline here")
    want_W, want_b = _reference(data.x_train[:N_TRAIN], data.y_train[:N_TRAIN])

    overrides = {"train_limit": str(N_TRAIN), "epochs": str(EPOCHS), "dtype": "float64"}
    config = training.make_config("mnist-seed", {"name": "m", **overrides})
    result = training.run(config, tmp_path, progress=False)
    model = result.artifact.model
    assert model.dtype == np.float64
    for got, want in zip(model.W + model.b, want_W + want_b, strict=True):
        np.testing.assert_array_equal(got, want)
    # the card records the test accuracy of every epoch and keeps the last
    history = result.card["training"]["history"]
    assert [row["epoch"] for row in history] == [1, 2]
    assert history[-1]["test_accuracy"] == round(result.card["metrics"]["test_accuracy"], 6)
    assert result.card["training"]["kept"] == "last epoch"
