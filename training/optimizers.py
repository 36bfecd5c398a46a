"""Optimizers: small stateful objects with one ``update(params, grads)``.

Modelled on scikit-learn's ``neural_network/_stochastic_optimizers.py``. Each updates the
parameter arrays in place; the learning rate is the attribute ``lr``, which the training loop sets
from its schedule before every step. The loop never knows which optimizer it has.
"""

from collections.abc import Sequence

import numpy as np


class SGD:
    """Stochastic gradient descent, optionally with (Nesterov) momentum.

    Parameters
    ----------
    lr : float
        Learning rate.
    momentum : float
        Velocity decay ``mu``; ``0`` gives plain SGD (the reference recipe).
    nesterov : bool
        Use Nesterov's look-ahead form ``p += mu v - lr g`` after ``v = mu v - lr g``.
    """

    def __init__(self, lr: float, momentum: float = 0.0, nesterov: bool = False):
        self.lr = lr
        self.momentum = momentum
        self.nesterov = nesterov
        self.velocities: list[np.ndarray] = []

    def update(self, params: Sequence[np.ndarray], grads: Sequence[np.ndarray]) -> None:
        """Take one step: ``params`` are changed in place."""
        if self.momentum == 0.0:
            for p, g in zip(params, grads, strict=True):
                p -= self.lr * g
            return
        if not self.velocities:
            self.velocities = [np.zeros_like(p) for p in params]
        mu = self.momentum
        for p, g, v in zip(params, grads, self.velocities, strict=True):
            v *= mu
            v -= self.lr * g
            if self.nesterov:
                p += mu * v - self.lr * g
            else:
                p += v


class Adam:
    """Adam (Kingma & Ba, 2015) with bias-corrected first and second moments.

    Parameters
    ----------
    lr : float
        Learning rate.
    beta1, beta2 : float
        Decay rates of the first- and second-moment estimates.
    eps : float
        Added to the root of the second moment.
    """

    def __init__(self, lr: float, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8):
        self.lr = lr
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.t = 0
        self.ms: list[np.ndarray] = []
        self.vs: list[np.ndarray] = []

    def update(self, params: Sequence[np.ndarray], grads: Sequence[np.ndarray]) -> None:
        """Take one step: ``params`` are changed in place."""
        if not self.ms:
            self.ms = [np.zeros_like(p) for p in params]
            self.vs = [np.zeros_like(p) for p in params]
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        step = self.lr * np.sqrt(1.0 - b2**self.t) / (1.0 - b1**self.t)
        for p, g, m, v in zip(params, grads, self.ms, self.vs, strict=True):
            m *= b1
            m += (1.0 - b1) * g
            v *= b2
            v += (1.0 - b2) * (g * g)
            denom = np.sqrt(v)
            denom += self.eps
            p -= step * (m / denom)


OPTIMIZERS = {"sgd": SGD, "adam": Adam}
