"""Exponential moving average of the weights, evaluated and exported instead of the raw weights."""

from collections.abc import Sequence

import numpy as np

from training.model import MLP


class WeightAverage:
    """``avg = decay avg + (1 - decay) params`` after every step, with a short warm-up.

    The effective decay is ``min(decay, (1 + t) / (10 + t))`` at step ``t``, so early averages
    are not dominated by the random initial weights.

    Parameters
    ----------
    model : MLP
        The network being trained; its weights seed the average.
    decay : float
        Long-run decay per step (0.999 averages over roughly the last thousand steps).
    """

    def __init__(self, model: MLP, decay: float):
        self.decay = decay
        self.t = 0
        self.model = model.copy()  # holds the averaged weights
        self._scratch = [np.empty_like(p) for p in model.params]

    def update(self, params: Sequence[np.ndarray]) -> None:
        """Fold the current ``params`` into the average, in place."""
        self.t += 1
        rate = 1.0 - min(self.decay, (1.0 + self.t) / (10.0 + self.t))
        for avg, p, s in zip(self.model.params, params, self._scratch, strict=True):
            np.subtract(avg, p, out=s)
            s *= rate
            avg -= s
