"""Optimizers: small stateful objects with one ``update(params, grads)``.

Modelled on scikit-learn's ``neural_network/_stochastic_optimizers.py``. Each updates the
parameter arrays in place; the learning rate is the attribute ``lr``, which the training loop sets
from its schedule before every step. ``grad_scale`` is the factor an optimizer wants the gradients
multiplied by before ``update``: the model's backward pass applies it to the output delta for
free, which saves plain SGD a pass over every parameter. The loop never knows which optimizer it
has.
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
        self._scratch: list[np.ndarray] = []  # one per parameter: no allocation per step

    @property
    def grad_scale(self) -> float:
        """``-lr`` for plain SGD, whose step is then ``p += g``; 1 with momentum."""
        return 1.0 if self.momentum else -self.lr

    def update(self, params: Sequence[np.ndarray], grads: Sequence[np.ndarray]) -> None:
        """Take one step with ``grads`` times :attr:`grad_scale`: ``params`` change in place."""
        mu, lr = self.momentum, self.lr
        if not mu:
            for p, g in zip(params, grads, strict=True):
                p += g  # g = -lr * gradient
            return
        if not self._scratch:
            self._scratch = [np.empty_like(p) for p in params]
            self.velocities = [np.zeros_like(p) for p in params]
        for i, (p, g) in enumerate(zip(params, grads, strict=True)):
            step = np.multiply(g, lr, out=self._scratch[i])  # lr g
            v = self.velocities[i]
            v *= mu
            v -= step  # v = mu v - lr g
            if self.nesterov:
                p -= step
                p += np.multiply(v, mu, out=step)  # p += mu v - lr g
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

    grad_scale = 1.0

    def __init__(self, lr: float, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8):
        self.lr = lr
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.t = 0
        self.ms: list[np.ndarray] = []
        self.vs: list[np.ndarray] = []
        self._scratch: list[np.ndarray] = []  # one per parameter: no allocation per step

    def update(self, params: Sequence[np.ndarray], grads: Sequence[np.ndarray]) -> None:
        """Take one step: ``params`` are changed in place."""
        if not self.ms:
            self.ms = [np.zeros_like(p) for p in params]
            self.vs = [np.zeros_like(p) for p in params]
            self._scratch = [np.empty_like(p) for p in params]
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        step = self.lr * np.sqrt(1.0 - b2**self.t) / (1.0 - b1**self.t)
        for p, g, m, v, s in zip(params, grads, self.ms, self.vs, self._scratch, strict=True):
            m *= b1 / (1.0 - b1)  # m / (1 - b1) kept in m for the next line
            m += g
            m *= 1.0 - b1  # m = b1 m + (1 - b1) g
            np.multiply(g, g, out=s)
            s -= v
            s *= 1.0 - b2
            v += s  # v = b2 v + (1 - b2) g^2
            np.sqrt(v, out=s)
            s += self.eps
            np.divide(m, s, out=s)
            s *= step
            p -= s


OPTIMIZERS = {"sgd": SGD, "adam": Adam}
