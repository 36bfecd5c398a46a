"""Hidden and output activations, each beside its derivative.

Name -> function tables in the style of scikit-learn's ``neural_network/_base.py``. Every
activation works in place on the pre-activation array ``a`` and returns it; every derivative is
written in terms of the activation's *output* ``h`` (so backprop caches post-activations only)
and multiplies ``delta`` in place by ``f'(a)``.
"""

from collections.abc import Callable

import numpy as np

LEAKY_SLOPE = 0.01


def identity(a: np.ndarray) -> np.ndarray:
    """Return ``a`` unchanged."""
    return a


def relu(a: np.ndarray) -> np.ndarray:
    """``max(a, 0)`` in place."""
    return np.maximum(a, 0, out=a)


def leaky_relu(a: np.ndarray) -> np.ndarray:
    """``a`` if ``a > 0`` else ``0.01 a``, in place."""
    return np.maximum(a, LEAKY_SLOPE * a, out=a)


def sigmoid(a: np.ndarray) -> np.ndarray:
    """Logistic ``1 / (1 + exp(-a))`` in place, exact for any ``a``.

    For ``a`` below about -88, ``exp(-a)`` overflows to ``inf`` and ``1 / (1 + inf)`` is the
    right answer, 0: silencing the warning is cheaper than clamping ``a`` first.
    """
    with np.errstate(over="ignore"):
        np.negative(a, out=a)
        np.exp(a, out=a)
    a += 1.0
    return np.reciprocal(a, out=a)


def tanh(a: np.ndarray) -> np.ndarray:
    """Hyperbolic tangent in place."""
    return np.tanh(a, out=a)


def softmax(a: np.ndarray) -> np.ndarray:
    """Row-wise softmax in place, shifted by the row maximum so ``exp`` never overflows."""
    a -= a.max(axis=1, keepdims=True)
    np.exp(a, out=a)
    a /= a.sum(axis=1, keepdims=True)
    return a


def relu_derivative(h: np.ndarray, delta: np.ndarray) -> None:
    """``delta *= 1[h > 0]``."""
    delta *= h > 0


def leaky_relu_derivative(h: np.ndarray, delta: np.ndarray) -> None:
    """``delta *= 1`` where ``h > 0``, else ``0.01``."""
    np.multiply(delta, LEAKY_SLOPE, out=delta, where=h <= 0)


def sigmoid_derivative(h: np.ndarray, delta: np.ndarray) -> None:
    """``delta *= h (1 - h)``, rounded as the reference rounds it (one temporary, as before)."""
    slope = 1.0 - h
    slope *= h
    delta *= slope


def tanh_derivative(h: np.ndarray, delta: np.ndarray) -> None:
    """``delta *= 1 - h**2``."""
    delta -= delta * (h * h)


Activation = Callable[[np.ndarray], np.ndarray]
Derivative = Callable[[np.ndarray, np.ndarray], None]

HIDDEN_ACTIVATIONS: dict[str, Activation] = {
    "relu": relu,
    "sigmoid": sigmoid,
    "tanh": tanh,
    "leaky_relu": leaky_relu,
}

DERIVATIVES: dict[str, Derivative] = {
    "relu": relu_derivative,
    "sigmoid": sigmoid_derivative,
    "tanh": tanh_derivative,
    "leaky_relu": leaky_relu_derivative,
}

OUTPUT_ACTIVATIONS: dict[str, Activation] = {
    "identity": identity,
    "sigmoid": sigmoid,
    "softmax": softmax,
}
