"""Training-time image augmentation: random translations by cropping a zero-padded copy."""

import numpy as np


class RandomShift:
    """Shift each image by up to ``max_shift`` pixels in x and y, fresh draws every epoch.

    Parameters
    ----------
    X : ndarray of shape (n, h * w)
        Preprocessed images whose background is 0.
    shape : (int, int)
        Image height and width.
    max_shift : int
        Largest translation in pixels.
    """

    def __init__(self, X: np.ndarray, shape: tuple[int, int], max_shift: int):
        h, w = shape
        s = max_shift
        self.shape = shape
        self.max_shift = s
        self.padded = np.zeros((len(X), h + 2 * s, w + 2 * s), X.dtype)  # (n, h+2s, w+2s)
        self.padded[:, s : s + h, s : s + w] = X.reshape(len(X), h, w)

    def take(self, order: np.ndarray, rng: np.random.Generator, out: np.ndarray) -> None:
        """Write the images ``order`` (each randomly shifted) into ``out``, shape (len(order), h*w).

        Rows are grouped by their shift, so the work is one strided gather per distinct shift.
        """
        h, w = self.shape
        s = self.max_shift
        k = 2 * s + 1
        shifts = rng.integers(0, k * k, size=len(order))  # (n,) index of (dy, dx)
        out3 = out.reshape(len(order), h, w)
        for code in range(k * k):
            rows = np.flatnonzero(shifts == code)
            dy, dx = divmod(code, k)
            out3[rows] = self.padded[order[rows], dy : dy + h, dx : dx + w]
