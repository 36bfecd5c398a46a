"""Training-time image augmentation: whole-pixel shifts, or a random affine warp with an elastic
distortion, followed by the pen and capture effects of :mod:`training.pen`."""

from collections.abc import Callable

import numpy as np

ELASTIC_GRID = 5  # control points per side of the elastic displacement field (every ~7 px)


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


def _elastic_basis(n: int, grid: int) -> np.ndarray:
    """(n, grid) smooth interpolation from ``grid`` control points to ``n`` pixels.

    Gaussian bumps one control spacing wide, rows normalised so that a constant field stays
    constant; scaled so that unit-variance control values give a unit-variance field on average.
    """
    centres = np.linspace(-0.5, n - 0.5, grid)
    spacing = centres[1] - centres[0]
    U = np.exp(-0.5 * ((np.arange(n)[:, None] - centres[None, :]) / spacing) ** 2)
    U /= U.sum(axis=1, keepdims=True)
    power = (U**2).sum(axis=1)  # (n,) variance of one axis' interpolation
    return (U / np.sqrt(np.sqrt(np.mean(power[:, None] * power[None, :])))).astype(np.float32)


Effects = Callable[[np.ndarray, np.random.Generator], np.ndarray]


class RandomAffine:
    """Random rotation, scaling, translation and elastic distortion of each image, fresh every
    epoch, sampled bilinearly; then optional pen and capture effects.

    Parameters
    ----------
    X : ndarray of shape (n, h * w)
        Preprocessed images whose background is 0.
    shape : (int, int)
        Image height and width.
    max_shift : int
        Largest translation in pixels (uniform in ``[-max_shift, max_shift]``, continuous).
    max_rotate : float
        Largest rotation in degrees.
    max_scale : float
        Largest relative zoom: the scale factor is uniform in ``[1 - s, 1 + s]``.
    elastic : float
        RMS displacement in pixels of a smooth random field added to the affine map (Simard et
        al. 2003's elastic distortion, drawn on a coarse grid of control points and interpolated
        smoothly instead of smoothing a per-pixel field: the same kind of field at a fraction of
        the cost). 0: off.
    effects : callable, optional
        ``effects(chunk, rng)`` applied to each warped chunk of shape (m, h*w), e.g.
        :class:`training.pen.PenEffects`.
    """

    def __init__(
        self,
        X: np.ndarray,
        shape: tuple[int, int],
        max_shift: int,
        max_rotate: float,
        max_scale: float,
        elastic: float = 0.0,
        effects: Effects | None = None,
    ):
        h, w = shape
        self.shape = shape
        self.limits = (float(max_shift), np.deg2rad(max_rotate), float(max_scale))
        self.elastic = float(elastic)
        self.effects = effects
        self.basis = (_elastic_basis(h, ELASTIC_GRID), _elastic_basis(w, ELASTIC_GRID))
        self.padded = np.zeros((len(X), h + 2, w + 2), X.dtype)  # (n, h+2, w+2), zero border
        self.padded[:, 1:-1, 1:-1] = X.reshape(len(X), h, w)
        rows, cols = np.mgrid[0:h, 0:w].astype(np.float32)
        self.u = (cols.ravel() - (w - 1) / 2)[None, :]  # (1, h*w), x from the centre
        self.v = (rows.ravel() - (h - 1) / 2)[None, :]  # (1, h*w), y from the centre

    def take(self, order: np.ndarray, rng: np.random.Generator, out: np.ndarray) -> None:
        """Write the images ``order``, each randomly warped, into ``out`` of shape (n, h*w)."""
        for start in range(0, len(order), 256):  # small chunks keep temporaries in cache
            chunk = order[start : start + 256]
            warped = self._warp(chunk, rng)  # (m, h*w)
            out[start : start + len(chunk)] = self.effects(warped, rng) if self.effects else warped

    def _warp(self, idx: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Inverse-map every output pixel into its source image and interpolate bilinearly."""
        h, w = self.shape
        shift, rotate, scale = self.limits
        n = len(idx)
        angle = rng.uniform(-rotate, rotate, (n, 1)).astype(np.float32)
        inv_zoom = 1.0 / rng.uniform(1 - scale, 1 + scale, (n, 1)).astype(np.float32)
        dx, dy = rng.uniform(-shift, shift, (2, n, 1)).astype(np.float32)
        cos, sin = np.cos(angle) * inv_zoom, np.sin(angle) * inv_zoom
        # source coordinates in the padded image (offset 1), (n, h*w)
        x = cos * self.u + sin * self.v + ((w - 1) / 2 + 1) - dx
        y = cos * self.v - sin * self.u + ((h - 1) / 2 + 1) - dy
        if self.elastic:
            x += self._field(n, rng)
            y += self._field(n, rng)
        np.clip(x, 0, w + 0.999, out=x)  # outside the image: the zero border
        np.clip(y, 0, h + 0.999, out=y)
        x0, y0 = x.astype(np.int32), y.astype(np.int32)
        fx, fy = x - x0, y - y0
        flat = self.padded.reshape(len(self.padded), -1)
        base = (idx[:, None] * flat.shape[1] + y0 * (w + 2) + x0).ravel()  # top-left neighbour
        top_left = flat.take(base).reshape(n, -1)
        top = top_left + fx * (flat.take(base + 1).reshape(n, -1) - top_left)
        bottom_left = flat.take(base + (w + 2)).reshape(n, -1)
        bottom = bottom_left + fx * (flat.take(base + (w + 3)).reshape(n, -1) - bottom_left)
        return top + fy * (bottom - top)

    def _field(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """(n, h*w) smooth random displacements with RMS :attr:`elastic` pixels."""
        rows, cols = self.basis  # (h, g), (w, g)
        control = rng.standard_normal((n, ELASTIC_GRID, ELASTIC_GRID), dtype=np.float32)
        control *= self.elastic
        return (rows @ control @ cols.T).reshape(n, -1)
