"""The plain NumPy forward pass every peer server uses, read from a contract `.npz` (README).

Deliberately independent of `service/`: peers must serve the same maths without our engine, so the
HTTP comparison measures the serving stack, not a different model. NumPy only, so it imports in
every peer's virtualenv.
"""

from pathlib import Path

import numpy as np


def _relu(a: np.ndarray) -> np.ndarray:
    return np.maximum(a, 0.0, out=a)


def _sigmoid(a: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-a))


def _leaky_relu(a: np.ndarray) -> np.ndarray:
    return np.where(a > 0, a, np.float32(0.01) * a)


def _softmax(a: np.ndarray) -> np.ndarray:
    e = np.exp(a - a.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


ACTIVATIONS = {
    "relu": _relu,
    "sigmoid": _sigmoid,
    "tanh": np.tanh,
    "leaky_relu": _leaky_relu,
    "softmax": _softmax,
    "identity": lambda a: a,
}


class NumpyMLP:
    """A classifier loaded from a contract `.npz`: preprocessing, affine layers, activations."""

    def __init__(self, path: str | Path) -> None:
        with np.load(path, allow_pickle=False) as z:
            n = len(z["activations"])
            self.weights = [z[f"W_{i}"].astype(np.float32) for i in range(n)]
            self.biases = [z[f"b_{i}"].astype(np.float32) for i in range(n)]
            self.activations = [ACTIVATIONS[str(a)] for a in z["activations"]]
            self.scale = np.float32(z["input_scale"])
            self.mean = z["input_mean"].astype(np.float32)
            self.std = z["input_std"].astype(np.float32)
            self.labels = [int(v) for v in z["labels"]]
        self.n_inputs = self.weights[0].shape[0]

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities (B, classes) for raw inputs (B, n_inputs)."""
        h = np.asarray(x, dtype=np.float32).reshape(-1, self.n_inputs) * self.scale - self.mean
        h /= self.std
        for W, b, act in zip(self.weights, self.biases, self.activations, strict=True):
            h = act(h @ W + b)
        return h

    def predictions(self, x: np.ndarray) -> list[dict]:
        """The response body's `predictions`: label and probabilities of each input row."""
        probs = self.probabilities(x)
        return [
            {"label": self.labels[int(k)], "probabilities": p.tolist()}
            for k, p in zip(probs.argmax(axis=1), probs, strict=True)
        ]
