"""Weight initialisers: name -> function table.

Each function draws one weight matrix of shape (n_in, n_out) from ``rng`` in float64 (the caller
casts); biases start at zero. ``rng`` is a NumPy ``Generator`` or a legacy ``RandomState`` (the
``legacy`` random stream): both draw ``standard_normal`` and ``uniform``, and a ``RandomState``'s
``standard_normal((n_in, n_out))`` is exactly the reference's ``np.random.randn(n_in, n_out)``.
"""

from collections.abc import Callable

import numpy as np

Random = np.random.Generator | np.random.RandomState


def he(rng: Random, n_in: int, n_out: int) -> np.ndarray:
    """He/Kaiming normal, ``N(0, 2 / n_in)``: keeps ReLU activations' variance across layers."""
    return rng.standard_normal((n_in, n_out)) * np.sqrt(2.0 / n_in)


def xavier(rng: Random, n_in: int, n_out: int) -> np.ndarray:
    """Xavier/Glorot uniform, ``U(-r, r)`` with ``r = sqrt(6 / (n_in + n_out))``."""
    r = np.sqrt(6.0 / (n_in + n_out))
    return rng.uniform(-r, r, size=(n_in, n_out))


def randn(rng: Random, n_in: int, n_out: int) -> np.ndarray:
    """The reference recipe's unscaled standard normal ``N(0, 1)``."""
    return rng.standard_normal((n_in, n_out))


INITIALIZERS: dict[str, Callable[[Random, int, int], np.ndarray]] = {
    "he": he,
    "xavier": xavier,
    "randn": randn,
}

# hidden activation -> initialiser chosen by init="auto"
AUTO_INIT: dict[str, str] = {
    "relu": "he",
    "leaky_relu": "he",
    "sigmoid": "xavier",
    "tanh": "xavier",
}
