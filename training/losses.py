"""Losses computed from logits, and the output activation each one pairs with.

Every loss takes the logits ``a`` (pre-activation of the output layer) and the targets ``Y`` and
returns the mean over rows. Working from logits keeps them finite for logits of any size
(log-sum-exp for softmax, ``logaddexp`` for the sigmoid). For each valid pairing, the gradient of
the mean loss with respect to the logits is ``(output - Y) / n_rows``, which the model uses as its
fused output delta.
"""

from collections.abc import Callable

import numpy as np


def logsumexp(a: np.ndarray) -> np.ndarray:
    """Row-wise ``log(sum(exp(a)))`` without overflow.

    Parameters
    ----------
    a : ndarray of shape (n, k)

    Returns
    -------
    ndarray of shape (n,)
    """
    m = a.max(axis=1)  # (n,)
    return m + np.log(np.exp(a - m[:, None]).sum(axis=1))


def squared_error(a: np.ndarray, Y: np.ndarray) -> float:
    """Half the squared error summed over outputs, averaged over rows (identity output)."""
    diff = a - Y  # (n, k)
    return float(0.5 * np.einsum("ij,ij->", diff, diff) / a.shape[0])


def binary_cross_entropy(a: np.ndarray, Y: np.ndarray) -> float:
    """``log(1 + exp(a)) - y a`` averaged over rows: binary cross-entropy of ``sigmoid(a)``."""
    return float((np.logaddexp(0.0, a) - Y * a).sum() / a.shape[0])


def cross_entropy(a: np.ndarray, Y: np.ndarray) -> float:
    """``logsumexp(a) - sum(Y a)`` averaged over rows: cross-entropy of ``softmax(a)``.

    ``Y`` may hold soft targets (label smoothing) as long as each row sums to one.
    """
    return float((logsumexp(a) - np.einsum("ij,ij->i", Y, a)).sum() / a.shape[0])


LOSS_FUNCTIONS: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "squared_error": squared_error,
    "binary_cross_entropy": binary_cross_entropy,
    "cross_entropy": cross_entropy,
}

# output activation -> the one loss whose logit gradient is (output - Y) / n
OUTPUT_LOSS_PAIRS: dict[str, str] = {
    "identity": "squared_error",
    "sigmoid": "binary_cross_entropy",
    "softmax": "cross_entropy",
}

# output activation -> task written in the .npz
OUTPUT_TASKS: dict[str, str] = {
    "identity": "regression",
    "sigmoid": "binary",
    "softmax": "multiclass",
}
