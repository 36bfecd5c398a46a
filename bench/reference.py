"""The reference implementation the project started from, kept to measure our speed-up against.

A faithful copy of the classic "neural nets from scratch" recipe: float64 arrays, every product an
`np.einsum` without `optimize` (einsum's own loops, no BLAS), the forward pass caching each layer's
input and pre-activation, sigmoid hidden layers, a softmax output with cross-entropy so that the
output delta is `a - y`, and plain SGD on the batch-mean gradient. Unscaled `randn` initialisation.
Do not speed it up: it is the baseline, not our code.
"""

import itertools

import numpy as np


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Logistic function."""
    with np.errstate(over="ignore"):  # exp(-z) overflows to inf for very negative z: sigmoid -> 0
        return 1.0 / (1.0 + np.exp(-z))


def sigmoid_prime(z: np.ndarray) -> np.ndarray:
    """Derivative of the logistic function at the pre-activation `z`."""
    s = sigmoid(z)
    return s * (1.0 - s)


def softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise softmax, shifted by the row maximum."""
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


class ReferenceNetwork:
    """Sigmoid MLP with softmax output, trained by plain minibatch SGD."""

    def __init__(self, sizes: list[int], seed: int = 42) -> None:
        np.random.seed(seed)
        self.weights = [np.random.randn(m, n) for m, n in itertools.pairwise(sizes)]
        self.biases = [np.random.randn(n) for n in sizes[1:]]
        self.inputs: list[np.ndarray] = []
        self.preacts: list[np.ndarray] = []

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Probabilities (B, classes) of inputs (B, features); caches inputs and pre-activations."""
        self.inputs, self.preacts = [], []
        h = x
        last = len(self.weights) - 1
        for i, (W, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            self.inputs.append(h)  # (B, n_in)
            a = np.einsum("bi,ij->bj", h, W) + b  # (B, n_out)
            self.preacts.append(a)
            h = softmax(a) if i == last else sigmoid(a)
        return h

    def backward(self, probs: np.ndarray, onehot: np.ndarray) -> list[tuple]:
        """Gradients (dW, db) per layer of the batch-mean cross-entropy, from the forward caches."""
        delta = (probs - onehot) / probs.shape[0]  # dE/da at the softmax output
        grads = []
        for i in reversed(range(len(self.weights))):
            dW = np.einsum("bi,bj->ij", self.inputs[i], delta)
            db = np.einsum("bj->j", delta)
            grads.append((dW, db))
            if i > 0:
                delta = np.einsum("bj,ij->bi", delta, self.weights[i]) * sigmoid_prime(
                    self.preacts[i - 1]
                )
        return grads[::-1]

    def sgd_step(self, grads: list[tuple], lr: float) -> None:
        """Plain SGD: W -= lr * dW, b -= lr * db."""
        for i, (dW, db) in enumerate(grads):
            self.weights[i] -= lr * dW
            self.biases[i] -= lr * db

    def train_batch(self, x: np.ndarray, onehot: np.ndarray, lr: float) -> None:
        """One SGD step on one minibatch."""
        self.sgd_step(self.backward(self.forward(x), onehot), lr)

    def accuracy(self, x: np.ndarray, labels: np.ndarray) -> float:
        """Share of rows whose most probable class is the label."""
        return float((self.forward(x).argmax(axis=1) == labels).mean())
